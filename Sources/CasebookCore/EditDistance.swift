/// Edit distance between names, and the "did you mean" choice built on it.
///
/// One implementation for every "did you mean" in Casebook: playbook keys, analyzer names,
/// dimensions, scenario keys. Callers format the suggestion their own way.
public enum EditDistance {
    /// The Levenshtein distance between `a` and `b`: the fewest single-character insertions,
    /// deletions and substitutions that turn one into the other. Compares `Character`s, exactly
    /// (case matters; ``closest(to:among:)`` ignores it).
    ///
    /// ```swift
    /// EditDistance.between("projct", "project")   // 1
    /// EditDistance.between("", "day")             // 3
    /// ```
    public static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// The candidate closest to `word` when it is close enough to be a plausible typo, else nil.
    ///
    /// Case is ignored. Only the closest candidate (the first one on a tie) is considered; it
    /// counts when its distance is at most a third of the shorter name's length (at least 2), or
    /// when `word` has three or more characters and the candidate contains it (`spike` for
    /// `spike-detection`).
    ///
    /// ```swift
    /// EditDistance.closest(to: "projct", among: ["project", "file"])   // "project"
    /// EditDistance.closest(to: "zzz", among: ["project", "file"])      // nil
    /// ```
    public static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        let w = word.lowercased()
        var best: (name: String, distance: Int)?
        for c in candidates {
            let d = between(w, c.lowercased())
            if best == nil || d < best!.distance { best = (c, d) }
        }
        guard let (name, d) = best else { return nil }
        if d <= max(2, min(w.count, name.count) / 3) { return name }
        if w.count >= 3, name.lowercased().contains(w) { return name }
        return nil
    }
}
