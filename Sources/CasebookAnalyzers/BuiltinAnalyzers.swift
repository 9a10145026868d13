import CasebookAnalysis

/// The analyzers compiled into `casebook`.
///
/// To add one: write `Sources/CasebookAnalyzers/MyAnalyzer.swift` (a type conforming to
/// ``CasebookAnalysis/Analyzer``) and add `MyAnalyzer.self` to ``all``, one line.
public enum BuiltinAnalyzers {
    /// Every built-in analyzer type, one per line.
    public static let all: [any Analyzer.Type] = [
        SeriesAnalyzer.self,
        SpikeDetectionAnalyzer.self,
        ContributorsAnalyzer.self,
        LogHealthAnalyzer.self,
        SegmentSplitAnalyzer.self,
        LocaliseAnalyzer.self,
        ClientBehaviourAnalyzer.self,
        IndexSourceAnalyzer.self,
        DependencyGapAnalyzer.self,
        AttributionAnalyzer.self,
        ExplanationAnalyzer.self
    ]

    /// A registry holding the built-ins plus `extra` (a custom build's own analyzers; they win on a name clash).
    public static func registry(adding extra: [any Analyzer.Type] = []) -> AnalyzerRegistry {
        AnalyzerRegistry(all + extra)
    }
}
