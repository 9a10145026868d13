import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

@Suite struct EngineTests {
    static let multiStep = """
        name: Spike check
        description: Daily series, unusual days, then what the next step received.
        params:
          threshold: {default: 500, type: int, description: Unusual above this.}
          dim: {default: project, type: dimension}
        steps:
          - id: daily
            uses: series
            with: {bucket: day}
          - id: spike
            uses: threshold-windows
            with:
              series: ${{ steps.daily.outputs.series }}
              threshold: ${{ params.threshold }}
          - id: who
            uses: echo
            if: steps.spike.outputs.windows
            with:
              value: ${{ steps.spike.outputs.windows[0] }}
              text: "first window starts ${{ steps.spike.outputs.windows[0].start }} (${{ steps.spike.outputs.count }} windows)"
              dimension: ${{ params.dim }}
        """

    @Test func multiStepPlaybookPassesOutputsAlong() async throws {
        let report = try await Support.run(Self.multiStep)
        #expect(report.steps.map(\.status) == [.succeeded, .succeeded, .succeeded])
        let daily = try succeeded(report, "daily")
        let expectedTotal: Int64 = 4420
        #expect(daily.outputs["total"] == .int(expectedTotal))
        #expect(daily.findings.first?.evidence.contains { if case .series(let s) = $0 { s.points.count == 28 } else { false } } == true)
        let spike = try succeeded(report, "spike")
        #expect(spike.outputs["count"] == .int(1))
        let echoed = try #require(try succeeded(report, "who").outputs["params"]?.objectValue)
        #expect(echoed["value"]?["start"] == .string("2020-03-04T00:00:00Z"))
        #expect(echoed["value"]?["downloads"] == .int(900 + 140))
        #expect(echoed["text"] == .string("first window starts 2020-03-04T00:00:00Z (1 windows)"))
        #expect(echoed["dimension"] == .string("project"))
        #expect(echoed["limit"] == .int(10))  // default applied
        #expect(report.playbook.params["threshold"] == .int(500))
    }

    @Test func setOverridesAParameterAndSkipsWithReason() async throws {
        let report = try await Support.run(Self.multiStep, overrides: [("threshold", "5000"), ("dim", "python_major")])
        #expect(report.playbook.params["threshold"] == .int(5000))
        #expect(try succeeded(report, "spike").outputs["count"] == .int(0))
        let who = try #require(report.step("who"))
        #expect(who.status == .skipped)
        #expect(who.reason == "its condition does not hold: `steps.spike.outputs.windows` is an empty list.")
        #expect(who.outputs.isEmpty)
    }

    @Test func aSkippedStepSaysWhyInWordsNeverWithWholeValues() async throws {
        let book = """
            name: Skips
            params:
              dim: {default: project, type: dimension}
            steps:
              - id: daily
                uses: series
                with: {bucket: day}
              - id: compared
                uses: echo
                if: steps.daily.outputs.series && params.dim == "version"
                with: {value: 1}
              - id: explained
                uses: echo
                if: params.dim == "version"
                skip-reason: it splits versions, and this run splits projects
                with: {value: 1}
            """
        let report = try await Support.run(book)
        #expect(report.steps.map(\.status) == [.succeeded, .skipped, .skipped])
        // The part of the condition that does not hold, with the value it found; the list that
        // held (28 days of series) is not printed.
        #expect(report.step("compared")?.reason == "its condition does not hold: `params.dim` is \"project\", not \"version\".")
        #expect(report.step("explained")?.reason == "it splits versions, and this run splits projects.")
    }

    @Test func badOverridesAreValidationErrors() async {
        let unknown = await Support.errors(Self.multiStep, overrides: [("treshold", "3")])
        #expect(
            unknown.map(\.description) == [
                "--set treshold=3: error: the playbook test.yaml has no parameter `treshold`; did you mean `threshold`? (parameters: threshold, dim)"
            ])
        let wrong = await Support.errors(Self.multiStep, overrides: [("threshold", "lots")])
        #expect(wrong.first?.message.contains("expected an int, found string") == true)
        let dim = await Support.errors(Self.multiStep, overrides: [("dim", "pyton_major")])
        #expect(dim.first?.message.contains("did you mean `python_major`?") == true)
    }

    @Test func failedStepDoesNotStopOthersAndDependentsAreSkipped() async throws {
        let report = try await Support.run(
            """
            name: Failing
            steps:
              - id: broken
                uses: failing
              - id: after
                uses: echo
                with: {value: "${{ steps.broken.outputs.x }}"}
              - id: independent
                uses: series
              - id: onfailure
                uses: echo
                if: steps.broken.status == 'failed'
            """)
        #expect(report.steps.map(\.status) == [.failed, .skipped, .succeeded, .succeeded])
        #expect(report.step("broken")?.reason == "the data has no March")
        #expect(report.step("after")?.reason == "step `broken` failed, and this step uses its outputs.")
    }

    @Test func reportJSONHasTheDocumentedShape() async throws {
        let report = try await Support.run(Self.multiStep, overrides: [("threshold", "5000")])
        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        let playbook = try #require(json["playbook"] as? [String: Any])
        #expect(playbook["name"] as? String == "Spike check")
        #expect(playbook["file"] as? String == "test.yaml")
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["daily", "spike", "who"])
        #expect(steps.map { $0["status"] as? String } == ["succeeded", "succeeded", "skipped"])
        #expect(steps[2]["reason"] is String)
        #expect(steps[0]["uses"] as? String == "series")
        let finding = try #require((steps[1]["findings"] as? [[String: Any]])?.first)
        #expect((finding["confidence"] as? [String: Any])?["level"] as? String == "medium")
        #expect((finding["evidence"] as? [[String: Any]])?.first?["type"] as? String == "number")
        // Round trip.
        let decoded = try JSONDecoder().decode(RunReport.self, from: report.jsonData())
        #expect(decoded == report)
        #expect(report.textSummary.contains("[skipped] who (echo)"))
    }

    @Test func customRegistryAnalyzerIsNotBuiltin() {
        #expect(BuiltinAnalyzers.registry().analyzer(named: "threshold-windows") == nil)
        #expect(Support.registry.analyzer(named: "threshold-windows") != nil)
        #expect(BuiltinAnalyzers.registry().names.contains("series"))
        #expect(ThresholdWindows.description.exampleStep.contains("threshold: <int>   # required"))
    }

    @Test func expressions() throws {
        let values: [PlaybookExpression.Target: Value] = [
            .stepOutput(step: "a", output: "w"): .array([]), .param("n"): 3,
            .stepOutput(step: "a", output: "s"): "Up"
        ]
        func eval(_ text: String) throws -> Value {
            try PlaybookExpression.parse(text).evaluate { values[$0] }
        }
        #expect(try eval("steps.a.outputs.w") == [])
        #expect(try eval("!steps.a.outputs.w") == true)
        #expect(try eval("params.n == 3 && steps.a.outputs.s == 'up'") == true)
        #expect(try eval("params.n != 3 || length(steps.a.outputs.w) > 0") == false)
        #expect(try eval("empty(steps.a.outputs.w) && (params.n >= 2)") == true)
        #expect(throws: ExpressionError.self) { try PlaybookExpression.parse("params.n ==") }
        #expect(throws: ExpressionError.self) { try PlaybookExpression.parse("params.n = 3") }
    }

    @Test func valueJSONRoundTrip() throws {
        let v: Value = ["a": [1, 2.5, "x", nil, true], "b": ["c": "d"]]
        #expect(try Value(json: Data(v.jsonString.utf8)) == v)
        #expect(v.jsonString == #"{"a":[1,2.5,"x",null,true],"b":{"c":"d"}}"#)
    }
}
