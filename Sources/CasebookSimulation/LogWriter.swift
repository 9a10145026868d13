import CZlib
import CasebookCore
import Foundation

/// Floor division for epoch seconds.
@inline(__always) func dayFloor(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Renders a day's events as bytes: Apache combined lines or BigQuery NDJSON rows. No
/// formatters per line: every repeated piece is pre-rendered and copied.
struct LogWriter {
    let plan: SimulationPlan
    let localClients: [Client]
    let day: Int64
    /// `[05/Mar/2020:` and `2020-03-05 `.
    let apacheDate: [UInt8]
    let isoDate: [UInt8]

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    init(plan: SimulationPlan, localClients: [Client], day: Int64) {
        self.plan = plan
        self.localClients = localClients
        self.day = day
        let (y, m, d) = UTCTime.civilFromDays(day)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        apacheDate = Array("[\(two(d))/\(LogWriter.months[m - 1])/\(y):".utf8)
        isoDate = Array("\(y)-\(two(m))-\(two(d)) ".utf8)
    }

    func client(_ e: Event) -> Client {
        switch e.set {
        case 0: plan.pool.clients[Int(e.client)]
        case 1: localClients[Int(e.client)]
        case 2: plan.fixedClients[Int(e.client)]
        default: plan.bots[Int(e.client)]
        }
    }

    @inline(__always) static func time(_ out: inout [UInt8], _ sec: Int) {
        let h = sec / 3600
        let m = sec / 60 % 60
        let s = sec % 60
        out.append(UInt8(48 + h / 10))
        out.append(UInt8(48 + h % 10))
        out.append(58)
        out.append(UInt8(48 + m / 10))
        out.append(UInt8(48 + m % 10))
        out.append(58)
        out.append(UInt8(48 + s / 10))
        out.append(UInt8(48 + s % 10))
    }

    static let afterTime = Array(" +0000] \"GET ".utf8)
    static let http200 = Array(" HTTP/1.1\" 200 ".utf8)
    static let http404 = Array(" HTTP/1.1\" 404 ".utf8)
    static let refAgent = Array(" \"-\" \"".utf8)
    static let dashes = Array(" - - ".utf8)
    static let simple = Array("/simple/".utf8)
    static let project = Array("/project/".utf8)

    func combined(_ events: [Event]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 600)
        let files = plan.table.files
        let packages = plan.table.packages
        for e in events {
            let c = client(e)
            let lineStart = out.count
            out.append(contentsOf: c.address)
            out.append(contentsOf: LogWriter.dashes)
            out.append(contentsOf: apacheDate)
            LogWriter.time(&out, e.second)
            out.append(contentsOf: LogWriter.afterTime)
            switch e.kind {
            case 0, 4:
                let f = files[Int(e.file)]
                out.append(contentsOf: f.path)
                out.append(contentsOf: LogWriter.http200)
                out.append(contentsOf: f.sizeText)
            case 5, 6, 7:
                // A request a failing server answered with its error status and a small error page.
                if e.kind == 5 {
                    out.append(contentsOf: files[Int(e.file)].path)
                } else {
                    out.append(contentsOf: e.kind == 6 ? LogWriter.simple : LogWriter.project)
                    out.append(contentsOf: packages[Int(e.file)].norm.utf8)
                    out.append(47)
                }
                out.append(contentsOf: " HTTP/1.1\" \(status(e)) ".utf8)
                out.append(contentsOf: String(299 + Int(e.key & 0x1F)).utf8)
            case 1:
                out.append(contentsOf: LogWriter.simple)
                out.append(contentsOf: packages[Int(e.file)].norm.utf8)
                out.append(47)
                out.append(contentsOf: LogWriter.http200)
                out.append(contentsOf: String(1800 + Int(e.key & 0xFFF)).utf8)
            case 2:
                out.append(contentsOf: LogWriter.project)
                out.append(contentsOf: packages[Int(e.file)].norm.utf8)
                out.append(47)
                out.append(contentsOf: LogWriter.http200)
                out.append(contentsOf: String(6000 + Int(e.key & 0x7FF)).utf8)
            default:
                // A project that does not exist here (a typo, or an internal package).
                out.append(contentsOf: LogWriter.simple)
                out.append(contentsOf: packages[Int(e.file)].norm.utf8)
                out.append(contentsOf: "-\(e.key & 0xFF)".utf8)
                out.append(47)
                out.append(contentsOf: LogWriter.http404)
                out.append(contentsOf: "3819".utf8)
            }
            out.append(contentsOf: LogWriter.refAgent)
            if e.kind == 4 {
                // Cut inside the user agent: the line ends without its closing quote.
                let keep = max(8, c.agentEscaped.count * Int(10 + e.key % 60) / 100)
                out.append(contentsOf: c.agentEscaped[0..<min(keep, c.agentEscaped.count - 2)])
                if out.last == 92 { out.removeLast() }
                out.append(10)
                continue
            }
            out.append(contentsOf: c.agentEscaped)
            out.append(34)
            out.append(10)
            _ = lineStart
        }
        return out
    }

    /// The error status of the outage behind an event of kind 5-7.
    func status(_ e: Event) -> Int {
        let k = Int(e.incident) - 1
        if k >= 0, k < plan.scenario.incidents.count, case .outage(let o) = plan.scenario.incidents[k], let st = o.status { return st }
        return 503
    }

    static let bqTimestamp = Array("{\"timestamp\":\"".utf8)
    static let bqCountry = Array(" UTC\",\"country_code\":".utf8)
    static let bqURL = Array(",\"url\":".utf8)
    static let bqDetails = Array(",\"details\":".utf8)
    static let bqTail = Array(",\"tls_protocol\":\"TLSv1.2\",\"tls_cipher\":\"ECDHE-RSA-AES128-GCM-SHA256\"}\n".utf8)

    func bigQuery(_ events: [Event]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 700)
        let files = plan.table.files
        for e in events where e.kind == 0 {
            let c = client(e)
            let f = files[Int(e.file)]
            out.append(contentsOf: LogWriter.bqTimestamp)
            out.append(contentsOf: isoDate)
            LogWriter.time(&out, e.second)
            out.append(contentsOf: LogWriter.bqCountry)
            out.append(34)
            out.append(contentsOf: c.country.utf8)
            out.append(34)
            out.append(contentsOf: LogWriter.bqURL)
            out.append(34)
            out.append(contentsOf: f.path)
            out.append(34)
            out.append(44)
            out.append(contentsOf: f.bigQueryFile)
            out.append(contentsOf: LogWriter.bqDetails)
            out.append(contentsOf: c.bigQueryDetails)
            out.append(contentsOf: LogWriter.bqTail)
        }
        return out
    }

    /// Writes bytes to a file, as gzip when asked.
    static func write(_ bytes: [UInt8], gzip: Bool, to path: String) throws {
        guard let fp = fopen(path, "wb") else {
            throw SimulationError("\(path): cannot open for writing (\(String(cString: strerror(errno))))")
        }
        defer { fclose(fp) }
        func put(_ b: UnsafeRawBufferPointer) throws {
            guard b.count == 0 || fwrite(b.baseAddress, 1, b.count, fp) == b.count else {
                throw SimulationError("\(path): write failed (\(String(cString: strerror(errno))))")
            }
        }
        if gzip {
            try Gzip.compress(bytes) { try put($0) }
        } else {
            try bytes.withUnsafeBytes { try put($0) }
        }
    }
}

/// gzip compression through zlib (deflate level 1: fast, about 10:1 on access logs), so the
/// generated logs are as large on disk as real rotated logs.
enum Gzip {
    static func compress(_ bytes: [UInt8], level: Int32 = 1, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        guard
            deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
                == Z_OK
        else {
            throw SimulationError("zlib: cannot start compression")
        }
        defer { deflateEnd(&stream) }
        let chunk = 1 << 18
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { out.deallocate() }
        try bytes.withUnsafeBufferPointer { input in
            var offset = 0
            var status = Z_OK
            repeat {
                let n = min(Int(UInt32.max / 2), input.count - offset)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0 + offset })
                stream.avail_in = UInt32(n)
                offset += n
                let flush = offset >= input.count ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    stream.next_out = out
                    stream.avail_out = UInt32(chunk)
                    status = deflate(&stream, flush)
                    guard status != Z_STREAM_ERROR else { throw SimulationError("zlib: compression failed") }
                    try emit(UnsafeRawBufferPointer(start: out, count: chunk - Int(stream.avail_out)))
                } while stream.avail_out == 0
            } while offset < input.count
            guard status == Z_STREAM_END else { throw SimulationError("zlib: compression did not finish") }
        }
    }
}
