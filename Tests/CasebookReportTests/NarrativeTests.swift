import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

@testable import CasebookReport

@Suite struct NarrativeTests {
    /// Every number a finding states, as text and as the renderers format evidence numbers.
    static func findingNumbers(_ doc: ReportDocument) -> Set<String> {
        var text = ""
        for s in doc.run.steps {
            text += " " + ReportNarrative.name(of: s) + " " + (s.reason ?? "")
            for f in s.findings {
                text += " " + f.title + " " + f.summary + " " + f.openQuestions.joined(separator: " ")
                for e in f.evidence {
                    if case .number(let label, let v, let unit) = e { text += " \(label) \(ReportFormat.measure(v, unit: unit))" }
                    if case .table(let t) = e { text += " " + t.rows.flatMap { $0.map { $0.stringValue ?? "" } }.joined(separator: " ") }
                }
            }
            // Rejected hypotheses are named by their labels (project and version).
            text += " " + RankedHypothesis.all(in: s).map(\.label).joined(separator: " ")
        }
        return Set(numberTokens(text))
    }

    static func stripHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(
                of: "&amp;", with: "&")
    }

    @Test(arguments: ["sample", "hostile", "quiet", "outage", "broad"])
    func numbersInTheSummaryAreTheFindingsNumbers(_ name: String) throws {
        let doc = try Self.document(name)
        let allowed = Self.findingNumbers(doc)
        let md = section(MarkdownRenderer().render(doc).markdown, from: "## Summary", to: "\n## ")
        let html = Self.stripHTML(section(HTMLRenderer().render(doc), from: "<section id=\"summary\"", to: "</section>"))
        #expect(!md.isEmpty && !html.isEmpty)
        for (format, text) in [("md", md.replacingOccurrences(of: "\\", with: "")), ("html", html)] {
            for token in numberTokens(text) {
                #expect(allowed.contains(token), "\(name) \(format): \(token) in the summary is not a number of the findings")
            }
        }
        // The key findings' summaries are quoted whole.
        let points = ReportNarrative(doc).points
        #expect(points.contains { !$0.finding.summary.isEmpty }, "\(name): no key finding with a summary")
        for p in points where !p.finding.summary.isEmpty {
            #expect(html.contains(p.finding.summary), "\(p.finding.summary)")
        }
    }

    @Test func sampleTellsTheStoryInPlaybookOrder() throws {
        let doc = try Fixtures.sampleDocument()
        let n = ReportNarrative(doc)
        #expect(n.title == "Downloads spike: A major spike, 2020-03-04 – 2020-03-06")
        #expect(n.points.map(\.stepID) == ["spike", "contributors", "segments", "clients"])
        #expect(n.points[0].others == ["A mild drop, 2020-01-01"])
        #expect(n.notRun.isEmpty)
        let md = MarkdownRenderer().render(doc).markdown
        #expect(
            md.contains(
                "**In short.** A major spike, 2020-03-04 – 2020-03-06. flask-login, semantic-version, markdown and sentry-sdk explain the spike."
            ))
    }

    @Test func aQuietPeriodSaysSoAndListsTheSkippedSteps() throws {
        let doc = try Self.document("quiet")
        let n = ReportNarrative(doc)
        #expect(n.title == "Downloads spike: No unusual window")
        #expect(n.notRun.count == 1)
        #expect(n.notRun[0].stepNames == ["What explains it", "Who made it"])
        let md = MarkdownRenderer().render(doc).markdown
        #expect(md.contains("- **What explains it and Who made it**: not run: condition "))
        let html = HTMLRenderer().render(doc)
        #expect(html.contains("<strong>Skipped:</strong> condition "))
    }

    @Test func anOutageAndABroadSpikeUseTheirOwnFindings() throws {
        let outage = ReportNarrative(try Self.document("outage"))
        #expect(outage.title == "Downloads spike: A major drop, 2021-06-01")
        let broad = ReportNarrative(try Self.document("broad"))
        #expect(broad.points.last?.finding.title == "A broad rise: no small set of project values explains it")
    }

    @Test func rejectedHypothesesAreListedWithWhy() throws {
        let doc = try Fixtures.hostileDocument()
        let n = ReportNarrative(doc)
        #expect(n.rejected.count == 1)
        let h = try #require(n.rejected.first?.hypotheses.first)
        #expect(h.kind == "release" && h.rejected && h.rank == 2)
        #expect(h.why == "\(Fixtures.hostile[7]) #7; \(Fixtures.hostile[8]) #8")
    }

    @Test func failedAndSkippedStepsSaySo() throws {
        let html = HTMLRenderer().render(try Fixtures.hostileDocument())
        #expect(html.contains("<strong>Failed:</strong> Failure &lt;script&gt;"))
        #expect(html.contains("<strong>Skipped:</strong> Reason &lt;script&gt;"))
    }

    @Test func theRendererNamesNoPackageOfTheFoundingCase() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CasebookReport")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 5)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8).lowercased()
            for word in ["flask", "sentry", "semantic", "octoprint", "piwheels", "raspbian", "2020", "24,256", "56,225", "60,324", "58,448"]
            {
                #expect(!text.contains(word), "\(file) mentions \(word)")
            }
        }
    }

    // MARK: - Documents for other incidents (what the analyzers would report)

    static func document(_ name: String) throws -> ReportDocument {
        switch name {
        case "sample": return try Fixtures.sampleDocument()
        case "hostile": return try Fixtures.hostileDocument()
        default: break
        }
        func step(_ id: String, _ name: String, _ uses: String, _ status: String, reason: String? = nil, findings: [Value]) -> Value {
            [
                "id": .string(id), "name": .string(name), "uses": .string(uses), "status": .string(status),
                "reason": reason.map(Value.string) ?? .null, "outputs": [:], "findings": .array(findings), "seconds": 0
            ]
        }
        let skipReason = "condition `steps.spike.outputs.windows` is false (steps.spike.outputs.windows is empty)"
        var steps: [Value]
        switch name {
        case "quiet":
            steps = [
                step(
                    "spike", "Unusual windows", "spike-detection", "succeeded",
                    findings: [
                        [
                            "title": "No unusual window",
                            "summary": "Daily downloads stayed within 4 robust deviations of their expected level over 91 days.",
                            "confidence": 0.8
                        ]
                    ]),
                step("contributors", "What explains it", "contributors", "skipped", reason: skipReason, findings: []),
                step("segments", "Who made it", "segment-split", "skipped", reason: skipReason, findings: [])
            ]
        case "outage":
            steps = [
                step(
                    "spike", "Unusual windows", "spike-detection", "succeeded",
                    findings: [
                        [
                            "title": "A major drop, 2021-06-01",
                            "summary":
                                "Downloads fell 2021-06-01: 1,204 against 31,877 expected, a shortfall of 30,673 (-96%); 9 hours had none.",
                            "confidence": 0.97
                        ]
                    ]),
                step(
                    "contributors", "What explains it", "contributors", "succeeded",
                    findings: [
                        [
                            "title": "Every project value fell alike",
                            "summary": "No value explains the shortfall; all fell by 90% to 98%.", "confidence": 0.7
                        ]
                    ])
            ]
        default:
            steps = [
                step(
                    "spike", "Unusual windows", "spike-detection", "succeeded",
                    findings: [
                        [
                            "title": "A moderate spike, 2022-11-07 – 2022-11-08",
                            "summary": "Downloads rose: 88,000 against 61,500 expected (+43%).", "confidence": 0.9
                        ]
                    ]),
                step(
                    "contributors", "What explains it", "contributors", "succeeded",
                    findings: [
                        [
                            "title": "A broad rise: no small set of project values explains it",
                            "summary": "The 8 largest values explain only 21% of the excess of 26,500 downloads.", "confidence": 0.8,
                            "openQuestions": ["Is it a mirror re-syncing everything?"]
                        ]
                    ])
            ]
        }
        let run: Value = [
            "playbook": ["name": "Downloads spike", "file": "playbooks/downloads-spike.yaml", "description": "", "params": [:]],
            "steps": .array(steps)
        ]
        return ReportDocument(run: try JSONDecoder().decode(RunReport.self, from: JSONEncoder().encode(run)), metadata: ReportMetadata())
    }
}
