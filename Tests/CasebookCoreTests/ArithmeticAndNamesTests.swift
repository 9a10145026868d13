import CasebookCore
import Testing

@Suite struct FloorDivTests {
    @Test(arguments: [
        (Int64(7), Int64(2), Int64(3)), (-7, 2, -4), (7, -2, -4), (-7, -2, 3), (6, 3, 2), (-6, 3, -2), (0, 5, 0),
        (-1, 86400, -1), (86399, 86400, 0), (-86400, 86400, -1), (-86401, 86400, -2)
    ])
    func roundsTowardNegativeInfinity(_ a: Int64, _ b: Int64, _ expected: Int64) {
        #expect(floorDiv(a, b) == expected)
        // The definition: the largest q with q * b <= a (for b > 0).
        if b > 0 { #expect(floorDiv(a, b) * b <= a && (floorDiv(a, b) + 1) * b > a) }
    }

    @Test func dayBeforeEpoch() {
        #expect(UTCTime.dateString(-1).hasPrefix("1969-12-31"))
    }
}

@Suite struct EditDistanceTests {
    @Test(arguments: [
        ("", "", 0), ("", "day", 3), ("week", "", 4), ("projct", "project", 1), ("kitten", "sitting", 3),
        ("flaw", "lawn", 2), ("same", "same", 0), ("Day", "day", 1)
    ])
    func levenshtein(_ a: String, _ b: String, _ expected: Int) {
        #expect(EditDistance.between(a, b) == expected)
        #expect(EditDistance.between(b, a) == expected)
    }

    @Test func closest() {
        #expect(EditDistance.closest(to: "projct", among: ["file", "project", "version"]) == "project")
        #expect(EditDistance.closest(to: "PROJECT", among: ["file", "project"]) == "project")
        #expect(EditDistance.closest(to: "spike", among: ["spike-detection"]) == "spike-detection")
        // Containment counts for the closest candidate only.
        #expect(EditDistance.closest(to: "spike", among: ["log-health", "spike-detection"]) == nil)
        #expect(EditDistance.closest(to: "zzzzzz", among: ["file", "project"]) == nil)
        #expect(EditDistance.closest(to: "x", among: [String]()) == nil)
        // A tie goes to the first candidate.
        #expect(EditDistance.closest(to: "ab", among: ["ax", "xb"]) == "ax")
    }
}
