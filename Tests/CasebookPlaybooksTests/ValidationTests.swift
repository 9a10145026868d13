import CasebookAnalysis
import CasebookPlaybooks
import Foundation
import Testing

/// Every validation error, with its position and message.
@Suite struct ValidationTests {
    @Test func unknownAnalyzerSuggestsClosest() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: threshold-window
            """, at: 4, 11, "unknown analyzer `threshold-window`; did you mean `threshold-windows`?")
    }

    @Test func unknownParameter() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: series
                with:
                  buckett: day
            """, at: 6, 7, "unknown parameter `buckett` for analyzer `series`; did you mean `bucket`?",
            "(parameters: bucket, filter, from, to)")
    }

    @Test func missingRequiredParameter() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: threshold-windows
                with: {threshold: 3}
            """, at: 3, 5, "step `s` is missing required parameter `series` of analyzer `threshold-windows` (list<object>:")
    }

    @Test func wrongTypes() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: echo
                with:
                  limit: ten
            """, at: 6, 14, "parameter `limit`: expected an int, found string `\"ten\"`")
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: series
                with: {bucket: month}
            """, at: 5, 20, "`month` is not a time bucket", "expected hour, day or week")
        await Support.expectError(
            """
            name: x
            steps:
              - id: s
                uses: echo
                with: {dimension: pyhton_major}
            """, at: 5, 23, "did you mean `python_major`?")
        // A reference whose declared type does not fit.
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: series
              - id: b
                uses: echo
                with: {limit: "${{ steps.a.outputs.series }}"}
            """, at: 7, 19, "parameter `limit`: expected int, but `steps.a.outputs.series` is list<object>")
    }

    @Test func referenceToMissingStepOrOutput() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: daily
                uses: series
              - id: b
                uses: echo
                with:
                  value: ${{ steps.dialy.outputs.total }}
            """, at: 8, 14, "no step has id `dialy`; did you mean `daily`?")
        await Support.expectError(
            """
            name: x
            steps:
              - id: daily
                uses: series
              - id: b
                uses: echo
                if: steps.daily.outputs.totl > 3
            """, at: 7, 9, "condition: analyzer `series` (step `daily`) has no output `totl`; did you mean `total`?",
            "(outputs: series, total, peak)")
        await Support.expectError(
            """
            name: x
            params: {limit: 3}
            steps:
              - id: b
                uses: echo
                with: {limit: "${{ params.limt }}"}
            """, at: 6, 19, "unknown parameter `params.limt`; did you mean `limit`?")
    }

    @Test func referenceToLaterStepAndCycles() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: first
                uses: echo
                with: {value: "${{ steps.second.outputs.total }}"}
              - id: second
                uses: series
            """, at: 5, 19, "step `second` runs later (step 2, line 6)", "move `second` before `first`")
        let cycle = await Support.errors(
            """
            name: x
            steps:
              - id: a
                uses: echo
                with: {value: "${{ steps.b.outputs.params }}"}
              - id: b
                uses: echo
                with: {value: "${{ steps.a.outputs.params }}"}
            """)
        #expect(
            cycle.map(\.description) == [
                "test.yaml:5:19: error: parameter `value`: cycle between steps: `a` → `b` → `a` (each uses the next one's outputs)"
            ])
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: echo
                with: {value: "${{ steps.a.outputs.params }}"}
            """, at: 5, 19, "step `a` refers to its own outputs")
    }

    @Test func structureErrors() async {
        await Support.expectError(
            """
            name: x
            stepz: []
            """, at: 2, 1, "unknown key `stepz`; did you mean `steps`?")
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: series
                wth: {bucket: day}
            """, at: 5, 5, "unknown key `wth` in a step; did you mean `with`?")
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: series
              - id: a
                uses: series
            """, at: 5, 9, "duplicate step id `a`; step 1 (line 3) already uses it")
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: ./analyzers/nothere.py
            """, at: 4, 11, "program `./analyzers/nothere.py` not found")
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: echo
                if: steps.a.outputs.params = 3
            """, at: 5, 9, "invalid condition")
        await Support.expectError(
            """
            name: x
            params:
              n: {default: 3, typ: int}
            steps:
              - uses: series
            """, at: 3, 19, "unknown key `typ` in parameter `n`; did you mean `type`?")
    }

    @Test func allErrorsAreReportedAtOnce() async {
        let d = await Support.errors(
            """
            name: x
            steps:
              - id: a
                uses: seriess
              - id: b
                uses: echo
                with: {limitt: 3}
            """)
        #expect(d.count == 2)
        #expect(d.map(\.location.line) == [4, 7])
    }
}

/// YAML-level problems and hostile documents.
@Suite struct YAMLTests {
    @Test func tabsInIndentation() async {
        await Support.expectError("name: x\nsteps:\n  - id: a\n\tuses: series\n", at: 4, 1, "found a tab in indentation")
    }

    @Test func duplicateKeys() async {
        await Support.expectError(
            """
            name: x
            steps:
              - id: a
                uses: series
                id: b
            """, at: 5, 5, "duplicate key `id`; it is already defined at line 3, column 5")
    }

    @Test func badIndentation() async {
        let d = await Support.errors(
            """
            name: x
            steps:
              - id: a
                 uses: series
            """)
        #expect(d.count == 1)
        #expect(d.first?.location.line == 4)
        #expect(d.first?.message.contains("invalid YAML") == true)
        #expect(d.first?.message.contains("indentation") == true)
    }

    @Test func aliasBombIsRefusedQuickly() async {
        var yaml = "name: x\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for i in 1...12 {
            yaml += "l\(i): &l\(i) [" + Array(repeating: i == 1 ? "*a" : "*l\(i - 1)", count: 9).joined(separator: ",") + "]\n"
        }
        yaml += "steps: [{uses: series, with: {filter: {project: *l12}}}]\n"
        let clock = ContinuousClock()
        var diagnostics: [PlaybookDiagnostic] = []
        let elapsed = await clock.measure { diagnostics = await Support.errors(yaml) }
        #expect(elapsed < .seconds(1))
        #expect(diagnostics.first?.location.line == 2)
        #expect(diagnostics.first?.message.contains("anchors and aliases") == true)
    }

    @Test func anchorsInBlockStyleAreRefused() async {
        await Support.expectError(
            """
            name: x
            defaults: &d
              bucket: day
            steps: []
            """, at: 2, 11, "anchors and aliases")
    }

    @Test func enormousNestingIsRefused() async {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let d = await Support.errors("name: x\nsteps: \(deep)\n")
        #expect(d.first?.message.contains("nesting deeper than 64") == true)
        var block = "name: x\nsteps:\n"
        for i in 0..<300 { block += String(repeating: " ", count: i + 2) + "k\(i):\n" }
        let e = await Support.errors(block)
        #expect(e.first?.message.contains("nesting") == true || e.first?.message.contains("indentation deeper") == true)
    }

    @Test func tooLargeIsRefused() async {
        let big = "name: x\ndescription: \"" + String(repeating: "a", count: 1 << 20) + "\"\nsteps: []\n"
        let d = await Support.errors(big)
        #expect(d.first?.message.contains("limited to 1048576 bytes") == true)
    }

    @Test func plainTextWithAmpersandIsFine() async throws {
        _ = try await Support.plan(
            """
            name: Tom & Jerry's *favourite* playbook
            description: R&D uses 5 * 3 = 15
            steps:
              - uses: series
            """)
    }
}

@Suite struct ParameterRangeTests {
    @Test func analyzerParameterOutOfRange() async {
        let d = await Support.errors(
            """
            name: x
            steps:
              - id: spike
                uses: spike-detection
                with: {threshold: -5}
            """)
        #expect(
            d.contains { $0.location.line == 5 && $0.message == "parameter `threshold`: -5 is out of range: expected more than 0" },
            "\(d.map(\.description))")
    }

    @Test func setValueFlowingIntoARangedParameter() async {
        // The playbook declares no range; the analyzer's range still applies to the value.
        let diagnostics = await Support.errors(
            """
            name: x
            params:
              days: 14
            steps:
              - id: spike
                uses: spike-detection
              - id: c
                uses: contributors
                with:
                  window: ${{ steps.spike.outputs.window }}
                  baseline_days: ${{ params.days }}
            """, overrides: [("days", "0")])
        #expect(
            diagnostics.contains {
                $0.message.contains("parameter `baseline_days` (`params.days`): 0 is out of range: expected from 1 to 366")
            },
            "\(diagnostics.map(\.description))")
    }

    @Test func playbookParamRanges() async {
        let yaml = """
            name: x
            params:
              threshold:
                type: number
                default: 4
                minimum: 0.5
                maximum: 100
            steps:
              - id: spike
                uses: spike-detection
                with: {threshold: "${{ params.threshold }}"}
            """
        let bad = await Support.errors(yaml, overrides: [("threshold", "-5")])
        #expect(
            bad.contains { $0.message == "parameter `threshold`: -5 is out of range: expected from 0.5 to 100" },
            "\(bad.map(\.description))")
        let fine = try? await Support.plan(yaml, overrides: [("threshold", "6")])
        #expect(fine != nil)
        let def = await Support.errors(
            """
            name: x
            params:
              n: {type: int, default: 0, minimum: 1}
            steps:
              - id: spike
                uses: spike-detection
            """)
        #expect(
            def.contains { $0.location.line == 3 && $0.message == "default of parameter `n`: 0 is out of range: expected at least 1" },
            "\(def.map(\.description))")
        let notNumber = await Support.errors(
            """
            name: x
            params:
              n: {type: int, minimum: low}
            steps:
              - id: spike
                uses: spike-detection
            """)
        #expect(
            notNumber.contains { $0.location.line == 3 && $0.message.hasPrefix("expected a number for `minimum` of parameter `n`") },
            "\(notNumber.map(\.description))")
    }
}
