/// Where each dimension lives in the star schema that both stores (SQLite and PostgreSQL) use:
/// events point at a row of `files` (what was downloaded), of `profiles` (who asked) and of
/// `clients` (pseudonymous client keys). Query builders of both backends read it from here, so
/// the two can never disagree on where a dimension is kept.
public enum StarSchema {
    /// A dimension table, by the alias queries give it.
    public enum Table: Character, Sendable, Hashable, CaseIterable {
        case files = "f"
        case profiles = "p"
        case clients = "c"
    }

    /// A dimension's column: its table and column name.
    public struct Column: Sendable, Hashable {
        public var table: Table
        public var name: String
        /// `alias.column`, as the query builders write it (`f.project`).
        public var qualified: String { "\(table.rawValue).\(name)" }
    }

    /// The column holding `dimension`.
    public static func column(_ dimension: Dimension) -> Column {
        switch dimension {
        case .project: Column(table: .files, name: "project")
        case .version: Column(table: .files, name: "version")
        case .filename: Column(table: .files, name: "filename")
        case .fileType: Column(table: .files, name: "file_type")
        case .python: Column(table: .profiles, name: "python")
        case .pythonMajor: Column(table: .profiles, name: "python_major")
        case .pythonMinor: Column(table: .profiles, name: "python_minor")
        case .implementation: Column(table: .profiles, name: "implementation")
        case .installer: Column(table: .profiles, name: "installer")
        case .installerVersion: Column(table: .profiles, name: "installer_version")
        case .distro: Column(table: .profiles, name: "distro")
        case .distroVersion: Column(table: .profiles, name: "distro_version")
        case .libc: Column(table: .profiles, name: "libc")
        case .libcVersion: Column(table: .profiles, name: "libc_version")
        case .openssl: Column(table: .profiles, name: "openssl")
        case .system: Column(table: .profiles, name: "system")
        case .cpu: Column(table: .profiles, name: "cpu")
        case .ci: Column(table: .profiles, name: "ci")
        case .country: Column(table: .profiles, name: "country")
        case .index: Column(table: .profiles, name: "index_name")
        case .client: Column(table: .clients, name: "key")
        }
    }
}
