import CasebookCore
import Foundation

/// Which way a window moved: `up` (an excess over the baseline) or `down` (a shortfall).
/// Encoded as the strings `"up"` and `"down"`, as windows and outputs carry it.
public enum Direction: String, Sendable, Hashable, Codable, CaseIterable {
    case up, down
}

/// How far a window is from its baseline, as spike-detection names it: `mild` (under 25%),
/// `moderate` (under 50%) or `major` (50% or more, or an outage). Encoded as those strings.
public enum Severity: String, Sendable, Hashable, Codable, CaseIterable {
    case mild, moderate, major

    /// The severity of a relative change (`actual / baseline − 1`); an outage is always major.
    public init(relativeChange: Double, outage: Bool = false) {
        let r = abs(relativeChange)
        self = outage || r >= 0.5 ? .major : r >= 0.25 ? .moderate : .mild
    }
}

/// What a hypothesis says caused a change. Attribution's kinds are named; any other kind an
/// (external) analyzer reports is kept as `other`. Encoded as the kind's string (`release`,
/// `fresh-install`, `ci`, `mirror`, `client`, or the other name).
public enum HypothesisKind: Sendable, Hashable, Codable, RawRepresentable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// A downstream release changed the requirements of the contributors.
    case release
    /// Fresh installs of a release with its whole requirement set.
    case freshInstall
    /// CI runners made the downloads.
    case ci
    /// A mirror made the downloads.
    case mirror
    /// A single client made the downloads.
    case client
    /// Any other kind, as the analyzer named it.
    case other(String)

    public init(rawValue: String) {
        switch rawValue {
        case "release": self = .release
        case "fresh-install": self = .freshInstall
        case "ci": self = .ci
        case "mirror": self = .mirror
        case "client": self = .client
        default: self = .other(rawValue)
        }
    }

    public init(stringLiteral value: String) { self.init(rawValue: value) }

    public var rawValue: String {
        switch self {
        case .release: "release"
        case .freshInstall: "fresh-install"
        case .ci: "ci"
        case .mirror: "mirror"
        case .client: "client"
        case .other(let name): name
        }
    }

    public var description: String { rawValue }

    /// Who made the downloads (CI runners, a mirror, a client), as against what was installed
    /// and why (a release, fresh installs): one of each can tell one story.
    public var isWho: Bool {
        switch self {
        case .ci, .mirror, .client: true
        default: false
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A cause an analyzer considered (an attribution step's `hypotheses` output): what it is, how
/// well it scored, the evidence for and against it, and whether the analyzer rejected it.
///
/// JSON (and ``value``): `{kind, project, version, score, released, matched, missing, reasons,
/// components, rejected}`; `project`, `version` and `released` are `null` when unknown,
/// `released` is ISO 8601 UTC. Decoding accepts objects without `score`, `reasons`,
/// `components` or `rejected` (an analyzer that does not say).
public struct Hypothesis: Sendable, Hashable, Codable {
    public var kind: HypothesisKind
    public var project: String?
    public var version: String?
    /// 0–1; nil when the analyzer gives none.
    public var score: Double?
    /// When the release was published (epoch seconds).
    public var released: Int64?
    /// Evidence for it.
    public var matched: [String]
    /// Evidence against it, or what it does not explain.
    public var missing: [String]
    public var reasons: [String]
    /// The score's parts (`coverage`, `time`, `python`, ...), each 0–1.
    public var components: [String: Double]
    /// Nil when the analyzer does not say (a report then takes the first as accepted).
    public var rejected: Bool?

    public init(
        kind: HypothesisKind, project: String? = nil, version: String? = nil, score: Double?, released: Int64? = nil,
        matched: [String] = [], missing: [String] = [], reasons: [String] = [], components: [String: Double] = [:],
        rejected: Bool? = nil
    ) {
        self.kind = kind
        self.project = project
        self.version = version
        self.score = score
        self.released = released
        self.matched = matched
        self.missing = missing
        self.reasons = reasons
        self.components = components
        self.rejected = rejected
    }

    /// The hypothesis as an output value (the JSON object above).
    public var value: Value {
        var o: [String: Value] = [
            "kind": .string(kind.rawValue), "project": project.map(Value.string) ?? .null, "version": version.map(Value.string) ?? .null,
            "released": released.map(Value.time) ?? .null,
            "matched": .array(matched.map(Value.string)), "missing": .array(missing.map(Value.string)),
            "reasons": .array(reasons.map(Value.string)),
            "components": .object(components.mapValues(Value.double))
        ]
        if let score { o["score"] = .double(score) }
        if let rejected { o["rejected"] = .bool(rejected) }
        return .object(o)
    }

    /// Reads a hypothesis from an output value.
    public init(value: Value) throws {
        self = try value.decode(Hypothesis.self)
    }

    private enum CodingKeys: String, CodingKey {
        case kind, project, version, score, released, matched, missing, reasons, components, rejected
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(HypothesisKind.self, forKey: .kind)
        project = try c.decodeIfPresent(String.self, forKey: .project)
        version = try c.decodeIfPresent(String.self, forKey: .version)
        score = try c.decodeIfPresent(Double.self, forKey: .score)
        if let text = try c.decodeIfPresent(String.self, forKey: .released) {
            guard let t = UTCTime.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .released, in: c, debugDescription: "`released` must be an ISO 8601 UTC time, found \"\(text)\"")
            }
            released = t
        } else {
            released = nil
        }
        matched = try c.decodeIfPresent([String].self, forKey: .matched) ?? []
        missing = try c.decodeIfPresent([String].self, forKey: .missing) ?? []
        reasons = try c.decodeIfPresent([String].self, forKey: .reasons) ?? []
        components = try c.decodeIfPresent([String: Double].self, forKey: .components) ?? [:]
        rejected = try c.decodeIfPresent(Bool.self, forKey: .rejected)
    }

    public func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}
