import CasebookCore
import Foundation

/// A release of a project: its version, when it was uploaded, what files it has.
public struct ReleaseSummary: Sendable, Hashable {
    /// The version as the index writes it (the key of `releases`).
    public var versionText: String
    /// The parsed version; nil for legacy versions that are not PEP 440.
    public var version: Version?
    /// Earliest upload time of its files (epoch seconds UTC); nil if it has no files or no times.
    public var uploadTime: Int64?
    public var fileCount: Int
    public var hasWheel: Bool
    /// True when every file is yanked (a release with no files is not yanked).
    public var yanked: Bool
}

/// Which kind of wheel a client can install.
public enum WheelKind: String, Sendable, Hashable {
    /// A pure-Python wheel for both Pythons: `py2.py3-none-any`.
    case universal
    /// A pure-Python wheel for one Python major version (`py3-none-any`, `py2-none-any`).
    case pure
    /// A wheel tied to an interpreter, ABI or platform (`cp27-cp27mu-linux_armv7l`, manylinux...).
    case platform
}

/// The wheel a client's pip would pick for a release, and why it fits.
public struct WheelMatch: Sendable, Hashable {
    public var file: ReleaseFile
    /// The supported tag of the client that matched (the best one).
    public var tag: WheelTag
    /// Position of `tag` in the client's supported tags (0 is the best possible).
    public var rank: Int
    public var kind: WheelKind
}

/// Where a release's requirements were read from.
public enum MetadataSource: String, Sendable, Hashable, Codable {
    /// The release document `pypi/NAME/VERSION/json`.
    case releaseDocument
    /// The project document's `info`, which describes only its latest version.
    case projectDocument
    /// A metadata row (`requires_dist` table export) describing this release.
    case metadataRow
}

/// The requirements of one release.
public struct ReleaseRequirements: Sendable, Hashable {
    public var project: String
    public var version: String
    public var source: MetadataSource
    /// True when the document has `requires_dist: null` (requirements unknown to the index;
    /// `all` is then empty but that does not prove the release has none).
    public var requiresDistIsNull: Bool
    /// Every parsed requirement, markers not evaluated.
    public var all: [Requirement]
    /// Those that apply: markers evaluated for the environment (with the requested extras);
    /// without an environment, those whose marker does not ask for an extra.
    public var applicable: [Requirement]
    /// Requirements whose marker could not be evaluated (undefined comparison), with the reason.
    public var undecided: [String]
    /// `requires_dist` entries that are not valid PEP 508, with the parse error.
    public var invalid: [String]
}

/// A project in the catalog that requires another one, and in which releases.
public struct ReverseDependency: Sendable, Hashable {
    public struct Use: Sendable, Hashable {
        public var version: String
        public var requirement: Requirement
        public var source: MetadataSource
    }
    /// Normalized name of the dependent project.
    public var dependent: String
    /// Its display name (`info.name`).
    public var dependentDisplayName: String
    /// Each release (with known metadata) that requires the target, oldest first.
    public var uses: [Use]
}

/// What changed in the requirements between two releases.
public struct RequirementDiff: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var from: Requirement
        public var to: Requirement
    }
    public var project: String
    public var from: String
    public var to: String
    public var added: [Requirement]
    public var removed: [Requirement]
    /// Same project (and marker), different specifier, extras or URL.
    public var changed: [Change]
    public var unchanged: [Requirement]
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}
