import CasebookAnalysis
import CasebookAnalyzers
import CasebookTesting
import Foundation
import Testing

/// Every built-in analyzer's examples (``AnalyzerDescription/examples``) are tests: the examples
/// `casebook analyzers NAME` shows must find what they say, on their own data.
@Suite struct AnalyzerExamplesTests {
    /// The built-ins by name (a metatype is not `Sendable`-friendly as a test argument's label).
    static let names = BuiltinAnalyzers.all.map { $0.description.name }

    @Test(arguments: names)
    func examplesHold(_ name: String) async throws {
        let type = try #require(BuiltinAnalyzers.registry().analyzer(named: name))
        let examples = type.description.examples
        #expect(!examples.isEmpty, "`\(name)` has no example: give one that finds something and one that finds nothing")
        for example in examples {
            let problems: [String]
            do {
                problems = try await checkExample(example, of: type)
            } catch {
                Issue.record("`\(name)` example \"\(example.title)\" failed to run: \(error)")
                continue
            }
            for p in problems { Issue.record(Comment(rawValue: p)) }
        }
    }

    /// The checker itself: a wrong expectation is reported, saying what differed.
    @Test func aWrongExpectationIsReported() async throws {
        let data = ExampleData(counts: [.daily("flask", from: "2020-02-01", [100, 120, 400, 110])])
        let wrong = AnalyzerExample(
            "Deliberately wrong", with: ["bucket": "day"], data: data,
            expect: ["total": 731, "peak": .contains(["downloads": 120]), "nonsense": 1],
            finding: "Uploads per day")
        let problems = try await checkExample(wrong, of: SeriesAnalyzer.self)
        #expect(problems.count == 4)
        #expect(problems.contains { $0.contains("`total` should be 731, but is 730") })
        #expect(problems.contains { $0.contains("`peak` should be contains {\"downloads\":120}") && $0.contains("\"downloads\":400") })
        #expect(problems.contains { $0.contains("`nonsense` is not an output of `series`") })
        #expect(problems.contains { $0.contains("no finding's title contains \"Uploads per day\"") && $0.contains("Downloads per day") })

        let right = AnalyzerExample(
            "Right", with: ["bucket": "day"], data: data,
            expect: ["total": 730, "series": .contains([["downloads": 400]])], finding: "Downloads per day")
        #expect(try await checkExample(right, of: SeriesAnalyzer.self) == [])
    }

    /// `contains` matches a part of an object or list; numbers match across int and double.
    @Test func expectationsMatchParts() {
        let actual: Value = ["a": 1, "b": [["x": "yes", "y": 2.0], ["x": "no"]], "c": "a long text"]
        #expect(ExpectedValue.contains(["a": 1.0]).matches(actual))
        #expect(ExpectedValue.contains(["b": [["y": 2]]]).matches(actual))
        #expect(ExpectedValue.contains(["c": "long"]).matches(actual))
        #expect(!ExpectedValue.contains(["b": [["x": "maybe"]]]).matches(actual))
        #expect(!ExpectedValue.equals(["a": 1]).matches(actual))
        #expect(ExpectedValue.approximately(0.3, tolerance: 0.01).matches(0.305))
        #expect(ExpectedValue.count(2).matches([1, 2]))
    }
}
