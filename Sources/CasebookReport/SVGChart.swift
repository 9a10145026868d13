import CasebookAnalysis
import CasebookCore
import Foundation

/// Draws chart evidence as SVG: line charts over time or categories (with highlighted windows),
/// bar charts (grouped, ranked panels on one scale, stacked shares) and dependency graphs.
///
/// Analyzers decide what to draw; this decides how. Every chart has a title, axes with tick
/// labels and units (dates for time axes), a legend, and highlighted windows shaded and
/// labelled. Colours come from the Okabe–Ito palette (safe for colour-blind readers) and every
/// series also differs by dash pattern, marker or hatching, so charts read in greyscale print.
/// Every string from data is escaped with ``Escape/html(_:)``.
public struct SVGChart: Sendable {
    /// Prefix for ids inside the SVG (patterns, markers), unique within one HTML page.
    public var idPrefix: String
    /// Width in CSS pixels; the height follows the content.
    public var width: Double

    public init(idPrefix: String, width: Double = 760) {
        self.idPrefix = Escape.fileStem(idPrefix, fallback: "chart")
        self.width = width
    }

    /// The SVG for chart evidence. `standalone` adds the XML declaration (for `.svg` files).
    public func render(_ chart: EvidenceChart, standalone: Bool = false) -> String {
        var canvas: Canvas
        switch chart.kind {
        case .line: canvas = line(chart)
        case .bars:
            switch chart.layout ?? .grouped {
            case .panels: canvas = panels(chart)
            case .stacked: canvas = stacked(chart)
            case .grouped: canvas = grouped(chart)
            }
        case .graph: canvas = graph(chart)
        }
        return canvas.document(title: chart.title, standalone: standalone)
    }

    /// The SVG for a series (a one-line chart).
    public func render(_ series: EvidenceSeries, standalone: Bool = false) -> String {
        render(Self.chart(from: series), standalone: standalone)
    }

    /// A series as a line chart.
    public static func chart(from series: EvidenceSeries) -> EvidenceChart {
        var chart = EvidenceChart(
            kind: .line, title: series.title, unit: series.unit, bucket: nil,
            series: [.init(name: series.unit ?? "value", points: series.points.map { .init(x: $0.time, y: $0.value) })],
            highlights: series.highlights)
        chart.bucket = series.bucket
        return chart
    }

    // MARK: - Style

    /// Okabe & Ito (2008), ordered for contrast on white; yellow last (weak on white, used rarely).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#B8A300"]
    static let dashes = ["", "8 4", "2 3", "10 3 2 3", "5 2", "1 3", "14 4", "6 2 1 2"]
    static let referenceColour = "#6b6b6b"
    static let font = "system-ui, -apple-system, &#39;Segoe UI&#39;, Roboto, Helvetica, Arial, sans-serif"

    /// Series that are a reference (an expected baseline, a normal day) are drawn grey and dashed.
    static func isReference(_ name: String) -> Bool {
        let n = name.lowercased()
        return ["expected", "baseline", "normal", "typical", "usual", "before"].contains {
            n.hasPrefix($0) || n.contains(" \($0)") || n.contains("(\($0)")
        }
    }

    static func colour(_ i: Int) -> String { palette[i % palette.count] }
    static func dash(_ i: Int) -> String { dashes[i % dashes.count] }

    /// Approximate width of text in a sans-serif font.
    static func textWidth(_ s: String, size: Double) -> Double {
        var w = 0.0
        for c in s {
            switch c {
            case "i", "l", "j", "I", ".", ",", ":", ";", "'", "|", "!": w += 0.3
            case " ", "t", "f", "r", "(", ")", "[", "]": w += 0.4
            case "m", "w", "M", "W": w += 0.92
            case "A"..."Z": w += 0.7
            case "0"..."9": w += 0.64
            default: w += c.isASCII ? 0.6 : 1.0
            }
        }
        return w * size
    }

    /// Shortens text to fit `width` pixels, with an ellipsis.
    static func fit(_ s: String, width: Double, size: Double) -> String {
        if textWidth(s, size: size) <= width { return s }
        var out = ""
        for c in s {
            if textWidth(out + String(c) + "…", size: size) > width { break }
            out.append(c)
        }
        return out + "…"
    }

    // MARK: - Canvas

    /// An SVG being drawn: elements, definitions, and the height used so far.
    struct Canvas {
        var width: Double
        var height: Double = 0
        var idPrefix: String
        var defs: [String] = []
        var body: [String] = []
        var usedPatterns: Set<Int> = []

        mutating func text(
            _ x: Double, _ y: Double, _ s: String, size: Double = 12, anchor: String = "start",
            weight: String? = nil, fill: String = "#222", extra: String = ""
        ) {
            var a = "x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" fill=\"\(fill)\""
            if anchor != "start" { a += " text-anchor=\"\(anchor)\"" }
            if let weight { a += " font-weight=\"\(weight)\"" }
            if !extra.isEmpty { a += " " + extra }
            body.append("<text \(a)>\(Escape.html(s))</text>")
        }

        mutating func raw(_ s: String) { body.append(s) }

        /// A fill pattern id (hatching) for index `i`; 0 is solid (no pattern).
        mutating func pattern(_ i: Int) -> String? {
            let k = i % 8
            guard k != 0 else { return nil }
            let id = "\(idPrefix)-hatch\(k)"
            if !usedPatterns.contains(k) {
                usedPatterns.insert(k)
                let stroke = "stroke=\"#fff\" stroke-opacity=\"0.75\""
                let content: String
                switch k {
                case 1: content = "<path d=\"M0,6 L6,0\" \(stroke) stroke-width=\"1.6\"/>"
                case 2: content = "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#fff\" fill-opacity=\"0.8\"/>"
                case 3: content = "<path d=\"M0,3 L6,3\" \(stroke) stroke-width=\"1.6\"/>"
                case 4: content = "<path d=\"M0,6 L6,0 M0,0 L6,6\" \(stroke) stroke-width=\"1.1\"/>"
                case 5: content = "<path d=\"M0,0 L6,6\" \(stroke) stroke-width=\"1.6\"/>"
                case 6: content = "<path d=\"M3,0 L3,6\" \(stroke) stroke-width=\"1.6\"/>"
                default: content = "<path d=\"M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5\" \(stroke) stroke-width=\"2.4\"/>"
                }
                defs.append("<pattern id=\"\(id)\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\(content)</pattern>")
            }
            return id
        }

        /// A rectangle in a series' colour with its hatching on top.
        mutating func bar(x: Double, y: Double, w: Double, h: Double, index: Int, colour: String? = nil, title: String? = nil) {
            let c = colour ?? SVGChart.colour(index)
            let t = title.map { "<title>\(Escape.html($0))</title>" } ?? ""
            raw("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(w, 0)))\" height=\"\(f(h))\" fill=\"\(c)\">\(t)</rect>")
            if let p = pattern(index), w > 0 {
                raw("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"url(#\(p))\"/>")
            }
        }

        /// The chart title at the top; returns the y below it.
        mutating func title(_ s: String) -> Double {
            let lines = SVGChart.wrap(s, width: width - 20, size: 15)
            var y = 22.0
            for line in lines {
                text(10, y, line, size: 15, weight: "600")
                y += 19
            }
            return y - 4
        }

        /// A legend of items (a swatch drawn by `swatch` at (x, y-center)); returns the y below it.
        mutating func legend(_ items: [(String, (inout Canvas, Double, Double) -> Void)], top: Double, left: Double = 10) -> Double {
            guard !items.isEmpty else { return top }
            var x = left
            var y = top + 14
            for (label, swatch) in items {
                let shown = SVGChart.fit(label, width: 260, size: 12)
                let w = 30 + SVGChart.textWidth(shown, size: 12) + 18
                if x + w > width - 10, x > left {
                    x = left
                    y += 18
                }
                swatch(&self, x, y - 4)
                text(x + 28, y, shown, size: 12)
                x += w
            }
            return y + 8
        }

        func document(title: String, standalone: Bool) -> String {
            var out = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
            let h = f(height.rounded(.up))
            // Inline in HTML the parser puts <svg> in the SVG namespace itself; a file needs xmlns.
            let ns = standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : ""
            out +=
                "<svg \(ns)viewBox=\"0 0 \(f(width)) \(h)\" width=\"\(f(width))\" height=\"\(h)\" role=\"img\" aria-labelledby=\"\(idPrefix)-title\" font-family=\"\(SVGChart.font)\">\n"
            out += "<title id=\"\(idPrefix)-title\">\(Escape.html(title))</title>\n"
            out += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(h)\" fill=\"#fff\"/>\n"
            if !defs.isEmpty { out += "<defs>" + defs.joined() + "</defs>\n" }
            out += body.joined(separator: "\n")
            out += "\n</svg>\n"
            return out
        }
    }

    /// Splits text into lines of at most `width` pixels.
    static func wrap(_ s: String, width: Double, size: Double) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in s.split(separator: " ", omittingEmptySubsequences: true) {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if textWidth(candidate, size: size) > width, !current.isEmpty {
                lines.append(current)
                current = String(word)
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines.isEmpty ? [""] : Array(lines.prefix(3))
    }

    // MARK: - Scales and ticks

    /// Round ticks from 0 (or the minimum when negative) to at least `maxValue`.
    static func niceTicks(min lo: Double, max hi: Double, count: Int = 5) -> [Double] {
        let lo = Swift.min(0, lo)
        let hi = Swift.max(hi, lo + 1e-9)
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var ticks: [Double] = []
        var v = floor(lo / step) * step
        while v < hi + step * 0.999 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            if v >= hi { break }
            v += step
        }
        return ticks
    }

    static func tickLabel(_ v: Double, unit: String?) -> String {
        if let u = unit?.lowercased(), u == "share" || u == "fraction" { return ReportFormat.percent(v) }
        if abs(v) >= 1_000_000 { return ReportFormat.number(v / 1_000_000, maxDecimals: 2) + "M" }
        return ReportFormat.number(v, maxDecimals: 3)
    }

    static func unitLabel(_ unit: String?, bucket: String?) -> String {
        let u = unit ?? "value"
        let shown = (u == "share" || u == "fraction") ? "share (%)" : u
        if let bucket, !bucket.isEmpty, u != "share" { return "\(shown) per \(bucket)" }
        return shown
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func seconds(ofBucket bucket: String?) -> Int64? {
        switch bucket {
        case "hour": 3600
        case "day": 86400
        case "week": 7 * 86400
        case "minute": 60
        default: nil
        }
    }

    // MARK: - Line

    func line(_ chart: EvidenceChart) -> Canvas {
        var c = Canvas(width: width, idPrefix: idPrefix)
        var top = c.title(chart.title)
        let series = chart.series.filter { !$0.points.isEmpty }
        // Time axis when every x parses as a time.
        let allX = series.flatMap { $0.points.map(\.x) }
        let times = allX.compactMap { UTCTime.parse($0) }
        let isTime = !allX.isEmpty && times.count == allX.count && allX.allSatisfy { $0.count >= 10 }
        let bucketSeconds = Self.seconds(ofBucket: chart.bucket) ?? (isTime ? Self.smallestGap(times) : nil) ?? 86400
        var categories: [String] = []
        if !isTime {
            for x in allX where !categories.contains(x) { categories.append(x) }
        }

        // Legend.
        var refIndex = 0
        var seriesIndex = 0
        var styles: [(colour: String, dash: String, marker: Int?, width: Double)] = []
        for s in series {
            if Self.isReference(s.name), series.count > 1 {
                styles.append((Self.referenceColour, ["6 4", "2 3", "10 3 2 3"][refIndex % 3], nil, 2))
                refIndex += 1
            } else {
                styles.append((Self.colour(seriesIndex), Self.dash(seriesIndex), seriesIndex, 2.2))
                seriesIndex += 1
            }
        }
        var items: [(String, (inout Canvas, Double, Double) -> Void)] = []
        for (i, s) in series.enumerated() {
            let st = styles[i]
            items.append(
                (
                    s.name,
                    { canvas, x, y in
                        canvas.raw(
                            "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 24))\" y2=\"\(f(y))\" stroke=\"\(st.colour)\" stroke-width=\"\(f(st.width))\"\(st.dash.isEmpty ? "" : " stroke-dasharray=\"\(st.dash)\"")/>"
                        )
                        if let m = st.marker { canvas.raw(SVGChart.marker(m, x: x + 12, y: y, colour: st.colour)) }
                    }
                ))
        }
        let highlightItems =
            chart.highlights.isEmpty
            ? []
            : [
                (
                    "highlighted window (shaded)",
                    { (canvas: inout Canvas, x: Double, y: Double) in
                        canvas.raw(
                            "<rect x=\"\(f(x))\" y=\"\(f(y - 7))\" width=\"24\" height=\"14\" fill=\"#E69F00\" fill-opacity=\"0.22\" stroke=\"#B26B00\" stroke-width=\"0.8\"/>"
                        )
                    }
                )
            ]
        if series.count > 1 || !highlightItems.isEmpty {
            top = c.legend(items + highlightItems, top: top)
        }

        let values = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let ticks = Self.niceTicks(min: values.min() ?? 0, max: values.max() ?? 1)
        let tickLabels = ticks.map { Self.tickLabel($0, unit: chart.unit) }
        let left = 24 + max(36, tickLabels.map { Self.textWidth($0, size: 11) }.max() ?? 30) + 10
        let right = width - 18

        // X scale.
        var xLo = 0.0
        var xHi = 1.0
        if isTime, let mn = times.min(), let mx = times.max() {
            xLo = Double(mn)
            xHi = Double(mx + bucketSeconds)
        } else {
            xLo = 0
            xHi = Double(max(categories.count, 1))
        }
        func xPos(_ v: Double) -> Double { left + (v - xLo) / max(xHi - xLo, 1e-12) * (right - left) }
        func pointX(_ x: String) -> Double? {
            if isTime { return UTCTime.parse(x).map { xPos(Double($0) + Double(bucketSeconds) / 2) } }
            return categories.firstIndex(of: x).map { xPos(Double($0) + 0.5) }
        }

        // Highlights: shaded bands, labels above the plot (on a second row when they would overlap).
        struct Band {
            var x0: Double
            var x1: Double
            var label: String
            var down: Bool
            var cx: Double
            var row: Int
        }
        var bands: [Band] = []
        for h in chart.highlights {
            guard isTime, let s = UTCTime.parse(h.start), let e = UTCTime.parse(h.end) else { continue }
            let x0 = max(left, xPos(Double(s)))
            let x1 = min(right, xPos(Double(e)))
            guard x1 > x0 else { continue }
            let down = ["drop", "outage", "down", "fall", "dip"].contains { (h.label ?? "").lowercased().contains($0) }
            let label = [h.label, ReportFormat.window(start: h.start, end: h.end)].compactMap { $0 }.joined(separator: ": ")
            let w = Self.textWidth(label, size: 11)
            let cx = min(max((x0 + x1) / 2, left + w / 2), right - w / 2)
            let row = bands.contains { $0.row == 0 && abs($0.cx - cx) < (Self.textWidth($0.label, size: 11) + w) / 2 + 8 } ? 1 : 0
            bands.append(Band(x0: x0, x1: x1, label: label, down: down, cx: cx, row: row))
        }
        let labelRows = bands.isEmpty ? 0.0 : bands.contains { $0.row == 1 } ? 34.0 : 20.0
        let plotTop = top + 10 + labelRows
        let plotHeight = 230.0
        let plotBottom = plotTop + plotHeight
        let yMin = ticks.first ?? 0
        let yMax = ticks.last ?? 1
        func yPos(_ v: Double) -> Double { plotBottom - (v - yMin) / max(yMax - yMin, 1e-12) * plotHeight }
        for b in bands {
            let tint = b.down ? "#56B4E9" : "#E69F00"
            let edge = b.down ? "#0072B2" : "#A85F00"
            c.raw(
                "<rect x=\"\(f(b.x0))\" y=\"\(f(plotTop))\" width=\"\(f(b.x1 - b.x0))\" height=\"\(f(plotHeight))\" fill=\"\(tint)\" fill-opacity=\"0.22\"/>"
            )
            for x in [b.x0, b.x1] {
                c.raw(
                    "<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"\(edge)\" stroke-width=\"0.8\" stroke-dasharray=\"3 2\"/>"
                )
            }
            c.text(b.cx, plotTop - 6 - Double(b.row) * 14, b.label, size: 11, anchor: "middle", weight: "600", fill: edge)
        }

        // Grid and y axis.
        for (t, label) in zip(ticks, tickLabels) {
            let y = yPos(t)
            c.raw(
                "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"\(t == 0 ? "#555" : "#e2e2e2")\" stroke-width=\"1\"/>"
            )
            c.text(left - 6, y + 4, label, size: 11, anchor: "end", fill: "#333")
        }
        let hourCategories = !categories.isEmpty && categories.allSatisfy { $0.count == 5 && $0.dropFirst(2).first == ":" }
        let unitText = Self.unitLabel(chart.unit, bucket: isTime ? chart.bucket : hourCategories ? "hour" : nil)
        c.text(
            14, (plotTop + plotBottom) / 2, unitText, size: 12, anchor: "middle", fill: "#333",
            extra: "transform=\"rotate(-90 14 \(f((plotTop + plotBottom) / 2)))\"")

        // X axis.
        c.raw("<line x1=\"\(f(left))\" y1=\"\(f(plotBottom))\" x2=\"\(f(right))\" y2=\"\(f(plotBottom))\" stroke=\"#555\"/>")
        var axisTitle = ""
        var twoLine = false
        if isTime, let mn = times.min(), let mx = times.max() {
            let (tickTimes, labeller, title) = Self.timeTicks(from: mn, to: mx + bucketSeconds, bucket: bucketSeconds, width: right - left)
            axisTitle = title
            var lastYear = -1
            for t in tickTimes {
                let x = xPos(Double(t) + (bucketSeconds >= 86400 ? Double(bucketSeconds) / 2 : 0))
                guard x >= left - 0.5, x <= right + 0.5 else { continue }
                c.raw("<line x1=\"\(f(x))\" y1=\"\(f(plotBottom))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom + 5))\" stroke=\"#555\"/>")
                let (main, year) = labeller(t)
                c.text(x, plotBottom + 18, main, size: 11, anchor: "middle", fill: "#333")
                if let year, year != lastYear {
                    c.text(x, plotBottom + 31, String(year), size: 11, anchor: "middle", fill: "#666")
                    lastYear = year
                    twoLine = true
                }
            }
        } else if !categories.isEmpty {
            let step = max(1, Int((Double(categories.count) / max(1, (right - left) / 56)).rounded(.up)))
            for (i, cat) in categories.enumerated() where i % step == 0 {
                let x = xPos(Double(i) + 0.5)
                c.raw("<line x1=\"\(f(x))\" y1=\"\(f(plotBottom))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom + 5))\" stroke=\"#555\"/>")
                c.text(x, plotBottom + 18, Self.fit(cat, width: 56 * Double(step) - 4, size: 11), size: 11, anchor: "middle", fill: "#333")
            }
            if hourCategories { axisTitle = "hour of day (UTC)" }
        }

        // Series.
        for (i, s) in series.enumerated() {
            let st = styles[i]
            let pts = s.points.compactMap { p -> (Double, Double)? in
                guard p.y.isFinite, let x = pointX(p.x) else { return nil }
                return (x, yPos(p.y))
            }.sorted { $0.0 < $1.0 }
            guard !pts.isEmpty else { continue }
            let d = pts.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f($0.element.0)),\(f($0.element.1))" }.joined(separator: " ")
            c.raw(
                "<path d=\"\(d)\" fill=\"none\" stroke=\"\(st.colour)\" stroke-width=\"\(f(st.width))\" stroke-linejoin=\"round\"\(st.dash.isEmpty ? "" : " stroke-dasharray=\"\(st.dash)\"")><title>\(Escape.html(s.name))</title></path>"
            )
            if let m = st.marker {
                // A few markers per line (offset per series) tell lines apart without colour.
                let every = max(1, pts.count / 10)
                for (k, p) in pts.enumerated() where (k + m) % every == 0 {
                    c.raw(Self.marker(m, x: p.0, y: p.1, colour: st.colour))
                }
            }
        }
        let bottomLabels = plotBottom + (twoLine ? 32 : 20)
        if !axisTitle.isEmpty { c.text((left + right) / 2, bottomLabels + 16, axisTitle, size: 12, anchor: "middle", fill: "#333") }
        c.height = bottomLabels + (axisTitle.isEmpty ? 8 : 26)
        return c
    }

    static func smallestGap(_ times: [Int64]) -> Int64? {
        let sorted = Array(Set(times)).sorted()
        guard sorted.count > 1 else { return nil }
        return zip(sorted, sorted.dropFirst()).map { $1 - $0 }.min()
    }

    /// Tick times, a labeller (main label, year when it should be shown) and the axis title.
    static func timeTicks(from start: Int64, to end: Int64, bucket: Int64, width: Double)
        -> ([Int64], (Int64) -> (String, Int?), String)
    {
        let span = end - start
        let maxTicks = max(2, Int(width / 64))
        func dayLabel(_ t: Int64) -> (String, Int?) {
            let (y, m, d) = UTCTime.civilFromDays(floorDiv(t, 86400))
            return ("\(SVGChart.months[m - 1]) \(d)", y)
        }
        if span <= 2 * 86400 && bucket < 86400 {
            // Hours within a day or two.
            let step = [1, 2, 3, 6, 12].map { Int64($0) * 3600 }.first { span / $0 <= Int64(maxTicks) } ?? 12 * 3600
            var t = (start + step - 1) / step * step
            var out: [Int64] = []
            while t <= end {
                out.append(t)
                t += step
            }
            return (
                out,
                { t in
                    let s = UTCTime.isoString(t)
                    let hm = String(s.dropFirst(11).prefix(5))
                    return t % 86400 == 0 ? (dayLabel(t).0 + " " + hm, dayLabel(t).1) : (hm, nil)
                }, "time (UTC)"
            )
        }
        let days = max(1, span / 86400)
        if days <= Int64(maxTicks) * 28 {
            let stepDays = [1, 2, 3, 7, 14, 28].map(Int64.init).first { days / $0 <= Int64(maxTicks) } ?? 28
            var day = floorDiv(start, 86400)
            if stepDays == 7 || stepDays == 14 || stepDays == 28 {
                // Start on a Monday (1970-01-01 was a Thursday).
                while (day + 3) % 7 != 0 { day += 1 }
            }
            var out: [Int64] = []
            while day * 86400 < end {
                out.append(day * 86400)
                day += stepDays
            }
            return (out, dayLabel, "date (UTC)")
        }
        // Months.
        let (y0, m0, _) = UTCTime.civilFromDays(floorDiv(start, 86400))
        var firsts: [Int64] = []
        var y = y0
        var m = m0 + 1
        if m > 12 {
            m = 1
            y += 1
        }
        while UTCTime.epoch(year: y, month: m, day: 1) < end {
            firsts.append(UTCTime.epoch(year: y, month: m, day: 1))
            m += 1
            if m > 12 {
                m = 1
                y += 1
            }
        }
        let step = max(1, (firsts.count + maxTicks - 1) / maxTicks)
        let picked = firsts.enumerated().filter { $0.offset % step == 0 }.map(\.element)
        return (
            picked,
            { t in
                let (yy, mm, _) = UTCTime.civilFromDays(floorDiv(t, 86400))
                return (SVGChart.months[mm - 1], yy)
            }, "month (UTC)"
        )
    }

    /// A marker shape (circle, square, triangle, diamond, cross...) for series `i`.
    static func marker(_ i: Int, x: Double, y: Double, colour: String) -> String {
        let s = 3.6
        switch i % 6 {
        case 0: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(s))\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"0.8\"/>"
        case 1:
            return
                "<rect x=\"\(f(x - s))\" y=\"\(f(y - s))\" width=\"\(f(2 * s))\" height=\"\(f(2 * s))\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"0.8\"/>"
        case 2:
            return
                "<path d=\"M\(f(x)),\(f(y - s - 1)) L\(f(x + s + 0.5)),\(f(y + s)) L\(f(x - s - 0.5)),\(f(y + s)) Z\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"0.8\"/>"
        case 3:
            return
                "<path d=\"M\(f(x)),\(f(y - s - 1)) L\(f(x + s + 1)),\(f(y)) L\(f(x)),\(f(y + s + 1)) L\(f(x - s - 1)),\(f(y)) Z\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"0.8\"/>"
        case 4: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(s))\" fill=\"#fff\" stroke=\"\(colour)\" stroke-width=\"1.8\"/>"
        default:
            return
                "<path d=\"M\(f(x - s)),\(f(y - s)) L\(f(x + s)),\(f(y + s)) M\(f(x - s)),\(f(y + s)) L\(f(x + s)),\(f(y - s))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
        }
    }

    // MARK: - Bars

    /// A category label shown for bars: dates as dates, other text as is.
    static func categoryLabel(_ s: String) -> String { s.count >= 10 && UTCTime.parse(s) != nil ? ReportFormat.time(s) : s }

    /// Each series its own ranked panel, side by side, on one shared scale.
    func panels(_ chart: EvidenceChart) -> Canvas {
        var c = Canvas(width: width, idPrefix: idPrefix)
        var top = c.title(chart.title)
        let series = chart.series.filter { !$0.points.isEmpty }
        guard !series.isEmpty else {
            c.height = top + 10
            return c
        }
        let sets = series.map { Set($0.points.map(\.x)) }
        let hasUnique =
            series.count > 1
            && series.indices.contains { i in
                series[i].points.contains { p in !series.indices.contains { $0 != i && sets[$0].contains(p.x) } }
            }
        if hasUnique {
            top = c.legend(
                [
                    ("also in the other panel", { canvas, x, y in canvas.bar(x: x, y: y - 6, w: 24, h: 12, index: 0) }),
                    ("only in this panel (new at the top)", { canvas, x, y in canvas.bar(x: x, y: y - 6, w: 24, h: 12, index: 1) })
                ], top: top)
        }
        let maxValue = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite).max() ?? 1
        let ticks = Self.niceTicks(min: 0, max: maxValue, count: 4)
        let xMax = ticks.last ?? maxValue
        let gap = 24.0
        let panelWidth = (width - 20 - gap * Double(series.count - 1)) / Double(series.count)
        let rows = series.map(\.points.count).max() ?? 0
        let rowHeight = 20.0
        let panelTop = top + 30
        for (pi, s) in series.enumerated() {
            let x0 = 10 + Double(pi) * (panelWidth + gap)
            let labelWidth = min(
                panelWidth * 0.42, max(60, s.points.map { Self.textWidth(Self.categoryLabel($0.x), size: 11) }.max() ?? 60) + 6)
            let barLeft = x0 + labelWidth + 4
            let barRight = x0 + panelWidth - 46
            func xPos(_ v: Double) -> Double { barLeft + v / max(xMax, 1e-12) * (barRight - barLeft) }
            c.text(x0, panelTop - 12, Self.categoryLabel(s.name), size: 13, weight: "600")
            for t in ticks {
                let x = xPos(t)
                c.raw(
                    "<line x1=\"\(f(x))\" y1=\"\(f(panelTop))\" x2=\"\(f(x))\" y2=\"\(f(panelTop + Double(rows) * rowHeight))\" stroke=\"\(t == 0 ? "#555" : "#e2e2e2")\"/>"
                )
                c.text(
                    x, panelTop + Double(rows) * rowHeight + 14, Self.tickLabel(t, unit: chart.unit), size: 10, anchor: "middle",
                    fill: "#333")
            }
            let ranked = s.points.sorted { $0.y > $1.y }
            for (r, p) in ranked.enumerated() {
                let y = panelTop + Double(r) * rowHeight
                let unique = series.count > 1 && !series.indices.contains { $0 != pi && sets[$0].contains(p.x) }
                c.text(
                    barLeft - 6, y + 14, Self.fit(Self.categoryLabel(p.x), width: labelWidth - 4, size: 11), size: 11, anchor: "end",
                    weight: unique ? "600" : nil)
                let w = xPos(max(0, p.y)) - barLeft
                c.bar(
                    x: barLeft, y: y + 3, w: w, h: rowHeight - 6, index: unique ? 1 : 0,
                    title: "\(p.x): \(ReportFormat.measure(p.y, unit: chart.unit))")
                c.text(barLeft + w + 4, y + 14, Self.tickLabel(p.y, unit: chart.unit), size: 10, fill: "#333")
            }
        }
        let bottom = panelTop + Double(rows) * rowHeight + 20
        c.text(
            width / 2, bottom + 12, Self.unitLabel(chart.unit, bucket: chart.bucket) + " (same scale in every panel)", size: 12,
            anchor: "middle", fill: "#333")
        c.height = bottom + 24
        return c
    }

    /// Categories as rows, the series side by side in each row, on one scale.
    func grouped(_ chart: EvidenceChart) -> Canvas {
        var c = Canvas(width: width, idPrefix: idPrefix)
        var top = c.title(chart.title)
        let series = chart.series
        var categories: [String] = []
        for s in series { for p in s.points where !categories.contains(p.x) { categories.append(p.x) } }
        if series.count > 1 {
            top = c.legend(
                series.enumerated().map { (i, s) in
                    (s.name, { canvas, x, y in canvas.bar(x: x, y: y - 6, w: 24, h: 12, index: i) })
                }, top: top)
        }
        let values = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let ticks = Self.niceTicks(min: values.min() ?? 0, max: values.max() ?? 1, count: 5)
        let lo = ticks.first ?? 0
        let hi = ticks.last ?? 1
        let labelWidth = min(width * 0.3, max(60, categories.map { Self.textWidth(Self.categoryLabel($0), size: 11) }.max() ?? 60) + 8)
        let left = 10 + labelWidth
        let right = width - 56
        func xPos(_ v: Double) -> Double { left + (v - lo) / max(hi - lo, 1e-12) * (right - left) }
        let barH = series.count > 3 ? 9.0 : 13.0
        let rowH = barH * Double(max(series.count, 1)) + 10
        let plotTop = top + 12
        let plotBottom = plotTop + rowH * Double(categories.count)
        for t in ticks {
            let x = xPos(t)
            c.raw(
                "<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"\(t == 0 ? "#555" : "#e2e2e2")\"/>"
            )
            c.text(x, plotBottom + 14, Self.tickLabel(t, unit: chart.unit), size: 10, anchor: "middle", fill: "#333")
        }
        for (ci, cat) in categories.enumerated() {
            let y0 = plotTop + Double(ci) * rowH + 5
            c.text(left - 6, y0 + rowH / 2, Self.fit(Self.categoryLabel(cat), width: labelWidth - 6, size: 11), size: 11, anchor: "end")
            for (si, s) in series.enumerated() {
                guard let p = s.points.first(where: { $0.x == cat }), p.y.isFinite else { continue }
                let y = y0 + Double(si) * barH
                let a = xPos(max(lo, 0))
                let b = xPos(p.y)
                c.bar(
                    x: min(a, b), y: y, w: abs(b - a), h: barH - 1, index: si,
                    title: "\(s.name), \(cat): \(ReportFormat.measure(p.y, unit: chart.unit))")
                c.text(max(a, b) + 4, y + barH - 2.5, Self.tickLabel(p.y, unit: chart.unit), size: 10, fill: "#333")
            }
        }
        c.text(
            (left + right) / 2, plotBottom + 32, Self.unitLabel(chart.unit, bucket: chart.bucket), size: 12, anchor: "middle", fill: "#333")
        c.height = plotBottom + 44
        return c
    }

    /// One horizontal bar per category, the series stacked in it (shares that add up).
    func stacked(_ chart: EvidenceChart) -> Canvas {
        var c = Canvas(width: width, idPrefix: idPrefix)
        var top = c.title(chart.title)
        let series = chart.series
        var categories: [String] = []
        for s in series { for p in s.points where !categories.contains(p.x) { categories.append(p.x) } }
        top = c.legend(
            series.enumerated().map { (i, s) in
                (s.name, { canvas, x, y in canvas.bar(x: x, y: y - 6, w: 24, h: 12, index: i) })
            }, top: top)
        let totals = categories.map { cat in series.reduce(0.0) { $0 + max(0, $1.points.first { $0.x == cat }?.y ?? 0) } }
        let isShare = ["share", "fraction"].contains(chart.unit?.lowercased() ?? "")
        let maxTotal = max(totals.max() ?? 1, isShare ? 1 : 0)
        let ticks = Self.niceTicks(min: 0, max: maxTotal, count: isShare ? 4 : 5)
        let hi = ticks.last ?? maxTotal
        let labelWidth = min(width * 0.3, max(60, categories.map { Self.textWidth(Self.categoryLabel($0), size: 12) }.max() ?? 60) + 8)
        let left = 10 + labelWidth
        let right = width - 20
        func xPos(_ v: Double) -> Double { left + v / max(hi, 1e-12) * (right - left) }
        let rowH = 34.0
        let plotTop = top + 12
        let plotBottom = plotTop + rowH * Double(categories.count)
        for t in ticks {
            let x = xPos(t)
            c.raw(
                "<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" stroke=\"\(t == 0 ? "#555" : "#e2e2e2")\"/>"
            )
            c.text(x, plotBottom + 14, Self.tickLabel(t, unit: chart.unit), size: 10, anchor: "middle", fill: "#333")
        }
        for (ci, cat) in categories.enumerated() {
            let y = plotTop + Double(ci) * rowH + 5
            c.text(
                left - 8, y + rowH / 2, Self.fit(Self.categoryLabel(cat), width: labelWidth - 8, size: 12), size: 12, anchor: "end",
                weight: "600")
            var acc = 0.0
            for (si, s) in series.enumerated() {
                let v = max(0, s.points.first { $0.x == cat }?.y ?? 0)
                guard v > 0 else { continue }
                let x0 = xPos(acc)
                let x1 = xPos(acc + v)
                c.bar(
                    x: x0, y: y, w: x1 - x0, h: rowH - 10, index: si,
                    title: "\(s.name), \(cat): \(ReportFormat.measure(v, unit: chart.unit))")
                let label = "\(Self.fit(s.name, width: 80, size: 11)) \(Self.tickLabel(v, unit: chart.unit))"
                if Self.textWidth(label, size: 11) + 8 < x1 - x0 {
                    c.raw(
                        "<rect x=\"\(f((x0 + x1) / 2 - Self.textWidth(label, size: 11) / 2 - 3))\" y=\"\(f(y + (rowH - 10) / 2 - 8))\" width=\"\(f(Self.textWidth(label, size: 11) + 6))\" height=\"15\" rx=\"3\" fill=\"#fff\" fill-opacity=\"0.85\"/>"
                    )
                    c.text((x0 + x1) / 2, y + (rowH - 10) / 2 + 4, label, size: 11, anchor: "middle", fill: "#111")
                }
                acc += v
            }
        }
        c.text(
            (left + right) / 2, plotBottom + 32, Self.unitLabel(chart.unit, bucket: chart.bucket), size: 12, anchor: "middle", fill: "#333")
        c.height = plotBottom + 44
        return c
    }

    // MARK: - Graph

    /// Nodes in layers (sources on the left, following the edges), coloured and shaped by group.
    func graph(_ chart: EvidenceChart) -> Canvas {
        var c = Canvas(width: width, idPrefix: idPrefix)
        var top = c.title(chart.title)
        let nodes = Array(chart.nodes.prefix(60))
        let ids = Set(nodes.map(\.id))
        let edges = chart.edges.filter { ids.contains($0.from) && ids.contains($0.to) && $0.from != $0.to }
        var groups: [String] = []
        for n in nodes where !groups.contains(n.group) { groups.append(n.group) }
        let borderDash = ["", "6 3", "2 2", "8 3 2 3"]
        top = c.legend(
            groups.enumerated().map { (gi, g) in
                (
                    g,
                    { canvas, x, y in
                        canvas.raw(
                            "<rect x=\"\(f(x))\" y=\"\(f(y - 7))\" width=\"24\" height=\"14\" rx=\"4\" fill=\"\(SVGChart.colour(gi))\" fill-opacity=\"0.18\" stroke=\"\(SVGChart.colour(gi))\" stroke-width=\"2\"\(borderDash[gi % 4].isEmpty ? "" : " stroke-dasharray=\"\(borderDash[gi % 4])\"")/>"
                        )
                    }
                )
            }, top: top)

        // Layers: longest path from the sources (bounded, so cycles terminate).
        var layer: [String: Int] = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, 0) })
        for _ in 0..<nodes.count {
            var changed = false
            for e in edges where layer[e.to]! < layer[e.from]! + 1 && layer[e.from]! + 1 < nodes.count {
                layer[e.to] = layer[e.from]! + 1
                changed = true
            }
            if !changed { break }
        }
        let layerCount = (layer.values.max() ?? 0) + 1
        var columns: [[EvidenceChart.Node]] = Array(repeating: [], count: layerCount)
        for n in nodes { columns[layer[n.id]!].append(n) }
        // Order each column by the mean position of its parents (one barycentre pass).
        for l in 1..<max(layerCount, 1) {
            let previous = columns[l - 1].map(\.id)
            func rank(_ n: EvidenceChart.Node) -> Double {
                let parents = edges.filter { $0.to == n.id }.compactMap { e in previous.firstIndex(of: e.from) }
                return parents.isEmpty ? Double(previous.count) : Double(parents.reduce(0, +)) / Double(parents.count)
            }
            columns[l] = columns[l].enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        }
        let boxH = 38.0
        let gapY = 12.0
        let tallest = columns.map(\.count).max() ?? 0
        let plotTop = top + 14
        let plotHeight = Double(tallest) * (boxH + gapY)
        let colWidth = (width - 20) / Double(max(layerCount, 1))
        let boxW = min(180, colWidth - 50)
        var position: [String: (x: Double, y: Double)] = [:]
        for (l, col) in columns.enumerated() {
            let x = 10 + Double(l) * colWidth + (colWidth - boxW) / 2
            let offset = (plotHeight - Double(col.count) * (boxH + gapY)) / 2
            for (i, n) in col.enumerated() {
                position[n.id] = (x, plotTop + offset + Double(i) * (boxH + gapY))
            }
        }
        c.defs.append(
            "<marker id=\"\(idPrefix)-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker>"
        )
        for e in edges {
            guard let a = position[e.from], let b = position[e.to] else { continue }
            let forward = b.x > a.x
            let x1 = forward ? a.x + boxW : a.x + boxW / 2
            let y1 = forward ? a.y + boxH / 2 : a.y + boxH
            let x2 = forward ? b.x : b.x + boxW / 2
            let y2 = forward ? b.y + boxH / 2 : b.y
            let mx = (x1 + x2) / 2
            let d =
                forward
                ? "M\(f(x1)),\(f(y1)) C\(f(mx)),\(f(y1)) \(f(mx)),\(f(y2)) \(f(x2)),\(f(y2))"
                : "M\(f(x1)),\(f(y1)) C\(f(x1 + 40)),\(f(y1 + 20)) \(f(x2 + 40)),\(f(y2 - 20)) \(f(x2)),\(f(y2))"
            c.raw(
                "<path d=\"\(d)\" fill=\"none\" stroke=\"#777\" stroke-width=\"1.3\" marker-end=\"url(#\(idPrefix)-arrow)\"><title>\(Escape.html(e.from + " → " + e.to + (e.label.map { " (\($0))" } ?? "")))</title></path>"
            )
            if let label = e.label, !label.isEmpty, forward {
                let shown = Self.fit(label, width: colWidth - boxW - 8, size: 10)
                let w = Self.textWidth(shown, size: 10)
                c.raw(
                    "<rect x=\"\(f(mx - w / 2 - 2))\" y=\"\(f((y1 + y2) / 2 - 9))\" width=\"\(f(w + 4))\" height=\"13\" fill=\"#fff\" fill-opacity=\"0.9\"/>"
                )
                c.text(mx, (y1 + y2) / 2 + 1, shown, size: 10, anchor: "middle", fill: "#444")
            }
        }
        for n in nodes {
            guard let p = position[n.id] else { continue }
            let gi = groups.firstIndex(of: n.group) ?? 0
            let col = Self.colour(gi)
            let dash = borderDash[gi % 4]
            c.raw(
                "<rect x=\"\(f(p.x))\" y=\"\(f(p.y))\" width=\"\(f(boxW))\" height=\"\(f(boxH))\" rx=\"6\" fill=\"\(col)\" fill-opacity=\"0.14\" stroke=\"\(col)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")><title>\(Escape.html(n.label + " (" + n.group + ")"))</title></rect>"
            )
            if let v = n.value {
                c.text(p.x + boxW / 2, p.y + 16, Self.fit(n.label, width: boxW - 8, size: 12), size: 12, anchor: "middle", weight: "600")
                c.text(p.x + boxW / 2, p.y + 31, ReportFormat.measure(v, unit: chart.unit), size: 10.5, anchor: "middle", fill: "#333")
            } else {
                c.text(
                    p.x + boxW / 2, p.y + boxH / 2 + 4, Self.fit(n.label, width: boxW - 8, size: 12), size: 12, anchor: "middle",
                    weight: "600")
            }
        }
        var bottom = plotTop + plotHeight
        if chart.nodes.count > nodes.count {
            c.text(10, bottom + 14, "\(chart.nodes.count - nodes.count) more nodes not drawn (see report.json)", size: 11, fill: "#555")
            bottom += 18
        }
        if let unit = chart.unit, nodes.contains(where: { $0.value != nil }) {
            c.text(10, bottom + 14, "numbers in boxes: \(unit)", size: 11, fill: "#555")
            bottom += 18
        }
        c.height = bottom + 8
        return c
    }
}

/// A coordinate with at most one decimal (`12`, `12.5`).
func f(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
}
