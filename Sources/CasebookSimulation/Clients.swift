import CasebookCore
import Foundation

/// One simulated client: an address, a pip user agent (pre-rendered, escaped as Apache writes
/// it) and the properties the downloads carry.
struct Client: Sendable {
    var address: [UInt8]
    /// The user agent, already escaped for a combined log (`\"` for quotes).
    var agentEscaped: [UInt8]
    /// The `details` object of a BigQuery row (compact JSON), and its country.
    var bigQueryDetails: [UInt8]
    var country: String
    var python: String
    var pythonParts: [Int]
    var cpu: String
    var ci: Bool
    /// A mirror tool (bandersnatch): its downloads are the `with_mirrors` minus `without_mirrors` of pypistats.
    var mirror: Bool = false

    var isARM: Bool { cpu.hasPrefix("arm") }
    var pythonMajor: Int { pythonParts.first ?? 0 }

    /// `cp37-cp37m` for CPython 3.7 (Raspbian's Python 2.7 is a UCS-4 build: `cp27-cp27mu`).
    var cpythonTags: String { ClientFactory.cpythonTags(pythonParts) }
}

/// What a client is made of, before it gets an address.
struct ClientTraits: Sendable, Hashable {
    var python: String
    var pip: String
    var cpu: String
    var distro: String
    var ci: Bool
}

/// Builds clients deterministically: the same (namespace, number, traits) always give the same client.
enum ClientFactory {
    struct Distro: Hashable {
        var name: String, version: String, id: String
    }

    /// `Raspbian GNU/Linux 10 (buster)` → name, version, id.
    static func parseDistro(_ text: String) -> Distro? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(")"), let open = t.lastIndex(of: "(") else { return nil }
        let id = String(t[t.index(after: open)..<t.index(before: t.endIndex)])
        let head = t[..<open].trimmingCharacters(in: .whitespaces)
        guard let space = head.lastIndex(of: " ") else { return nil }
        let name = String(head[..<space])
        let version = String(head[head.index(after: space)...])
        guard !name.isEmpty, !version.isEmpty, !id.isEmpty else { return nil }
        return Distro(name: name, version: version, id: id)
    }

    static func versionParts(_ v: String) -> [Int] {
        v.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
    }

    static func cpythonTags(_ p: [Int]) -> String {
        let major = p.first ?? 3
        let minor = p.count > 1 ? p[1] : 0
        let tag = "cp\(major)\(minor)"
        if major == 2 { return "\(tag)-\(tag)mu" }
        if major == 3 && minor < 8 { return "\(tag)-\(tag)m" }
        return "\(tag)-\(tag)"
    }

    static let libc: [String: String] = [
        "buster": "2.28", "stretch": "2.24", "jessie": "2.19", "bullseye": "2.31",
        "bionic": "2.27", "focal": "2.31", "xenial": "2.23"
    ]
    static let openssl: [String: String] = [
        "buster": "OpenSSL 1.1.1d  10 Sep 2019", "stretch": "OpenSSL 1.1.0l  10 Sep 2019", "jessie": "OpenSSL 1.0.1t  3 May 2016",
        "bionic": "OpenSSL 1.1.1  11 Sep 2018", "focal": "OpenSSL 1.1.1f  31 Mar 2020", "xenial": "OpenSSL 1.0.2g  1 Mar 2016"
    ]
    static let setuptools: [String: String] = [
        "buster": "40.8.0", "stretch": "33.1.1", "jessie": "5.5.1", "bionic": "39.0.1",
        "focal": "45.2.0", "xenial": "20.7.0"
    ]
    static let kernels: [String: [String]] = [
        "armv7l": ["4.19.97-v7+", "4.19.97-v7l+", "4.19.75-v7l+", "4.19.66-v7+", "4.19.97-v7l+"],
        "armv6l": ["4.19.97+", "4.19.75+", "4.19.66+"],
        "aarch64": ["4.19.97-v8+", "5.4.0-1008-raspi"],
        "x86_64": ["4.15.0-1067-azure", "5.0.0-1032-azure", "4.15.0-88-generic"]
    ]
    static let countries: [Weighted] = [
        Weighted("GB", 22), Weighted("US", 24), Weighted("DE", 11), Weighted("FR", 5), Weighted("NL", 4), Weighted("CA", 4),
        Weighted("AU", 4), Weighted("IT", 3), Weighted("JP", 3), Weighted("ES", 3), Weighted("SE", 2), Weighted("PL", 2),
        Weighted("CH", 2), Weighted("BE", 2), Weighted("IN", 3), Weighted("BR", 2), Weighted("CZ", 1), Weighted("AT", 1)
    ]
    static let countryPicker = WeightedPicker(countries.map(\.weight))

    /// A stable 64-bit hash of a client's identity, to choose its address and small details.
    static func identity(_ namespace: UInt64, _ number: Int, _ seed: UInt64) -> UInt64 {
        SeededGenerator.mix(SeededGenerator.mix(seed ^ (namespace &* 0xA24B_AED4_963E_E407)) ^ UInt64(number))
    }

    /// A documentation/benchmark-range address, unique per (namespace, number): 198.18.0.0/15 for
    /// some baseline clients, 2001:db8::/32 otherwise, so no real host is ever named.
    static func address(namespace: UInt64, number: Int, hash: UInt64) -> String {
        if namespace == 0, number < 1 << 17, hash % 10 < 6 {
            let p = (UInt32(number) &* 0x9E3B &+ 0x51ED) & 0x1FFFF
            return "198.\(18 + Int(p >> 16)).\(Int((p >> 8) & 0xFF)).\(Int(p & 0xFF))"
        }
        let p = UInt32(truncatingIfNeeded: number) &* 0x9E37_79B1
        let h = hash >> 16
        return String(format: "2001:db8:%x:%x:%x::%x", UInt32(namespace & 0xFFFF) ^ 0x1000, p >> 16, p & 0xFFFF, UInt32(h & 0xFFFF) | 1)
    }

    static func make(namespace: UInt64, number: Int, traits t: ClientTraits, seed: UInt64) -> Client {
        let hash = identity(namespace, number, seed)
        var g = SeededGenerator(seed: hash)
        let distro = parseDistro(t.distro) ?? Distro(name: "Raspbian GNU/Linux", version: "10", id: "buster")
        let kernelList = kernels[t.cpu] ?? ["5.4.0-generic"]
        let kernel = kernelList[g.below(kernelList.count)]
        let pipParts = versionParts(t.pip)
        let pipAtLeast = { (a: Int, b: Int) in pipParts.lexicographicallyPrecedes([a, b]) == false }
        let withCI = pipAtLeast(19, 1)
        let withSetuptools = pipAtLeast(10, 0)
        let libcVersion = libc[distro.id] ?? "2.28"
        let ssl = openssl[distro.id] ?? "OpenSSL 1.1.1d  10 Sep 2019"
        let st = setuptools[distro.id] ?? "40.8.0"
        func q(_ s: String) -> String { JSONText.quote(s) }
        var json = "{"
        if withCI { json += "\"ci\":\(t.ci ? "true" : "null")," }
        json += "\"cpu\":\(q(t.cpu)),\"distro\":{\"id\":\(q(distro.id)),\"libc\":{\"lib\":\"glibc\",\"version\":\(q(libcVersion))},"
        json += "\"name\":\(q(distro.name)),\"version\":\(q(distro.version))},"
        json +=
            "\"implementation\":{\"name\":\"CPython\",\"version\":\(q(t.python))},\"installer\":{\"name\":\"pip\",\"version\":\(q(t.pip))},"
        json += "\"openssl_version\":\(q(ssl)),\"python\":\(q(t.python)),"
        if withSetuptools { json += "\"setuptools_version\":\(q(st))," }
        json += "\"system\":{\"name\":\"Linux\",\"release\":\(q(kernel))}}"
        let agent = "pip/\(t.pip) \(json)"
        let country = countries[countryPicker.pick(&g)].value
        let details =
            "{\"installer\":{\"name\":\"pip\",\"version\":\(q(t.pip))},\"python\":\(q(t.python)),"
            + "\"implementation\":{\"name\":\"CPython\",\"version\":\(q(t.python))},"
            + "\"distro\":{\"name\":\(q(distro.name)),\"version\":\(q(distro.version)),\"id\":\(q(distro.id)),\"libc\":{\"lib\":\"glibc\",\"version\":\(q(libcVersion))}},"
            + "\"system\":{\"name\":\"Linux\",\"release\":\(q(kernel))},\"cpu\":\(q(t.cpu)),\"openssl_version\":\(q(ssl)),"
            + "\"setuptools_version\":\(withSetuptools ? q(st) : "null"),\"rustc_version\":null,\"ci\":\(t.ci ? "true" : "null")}"
        return Client(
            address: Array(address(namespace: namespace, number: number, hash: hash).utf8),
            agentEscaped: apacheEscaped(agent), bigQueryDetails: Array(details.utf8), country: country,
            python: t.python, pythonParts: versionParts(t.python), cpu: t.cpu, ci: t.ci)
    }

    /// A non-pip client (a mirror): its agent, and no details beyond the installer.
    static func makeTool(namespace: UInt64, number: Int, agent: String, installer: String, installerVersion: String, seed: UInt64) -> Client
    {
        let hash = identity(namespace, number, seed)
        let details =
            "{\"installer\":{\"name\":\(JSONText.quote(installer)),\"version\":\(JSONText.quote(installerVersion))},\"python\":null,"
            + "\"implementation\":{\"name\":null,\"version\":null},\"distro\":null,\"system\":{\"name\":\"Linux\",\"release\":null},"
            + "\"cpu\":\"x86_64\",\"openssl_version\":null,\"setuptools_version\":null,\"rustc_version\":null,\"ci\":null}"
        return Client(
            address: Array(address(namespace: namespace, number: number, hash: hash).utf8), agentEscaped: apacheEscaped(agent),
            bigQueryDetails: Array(details.utf8), country: "DE", python: "", pythonParts: [], cpu: "x86_64", ci: false)
    }

    /// Escapes a header value as Apache's log module does: `"` and `\` get a backslash, control bytes become `\xHH`.
    static func apacheEscaped(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 64)
        for b in s.utf8 {
            switch b {
            case 34:
                out.append(92)
                out.append(34)
            case 92:
                out.append(92)
                out.append(92)
            case 0..<32, 127:
                out.append(contentsOf: Array(String(format: "\\x%02x", b).utf8))
            default: out.append(b)
            }
        }
        return out
    }
}

/// The population: clients drawn with the scenario's shares, grouped into pools by Python
/// version and CPU family so a download's client can use the file.
struct ClientPool: Sendable {
    var clients: [Client]
    /// Distinct Python versions, and for each the indices of its ARM and non-ARM clients.
    var pythons: [String]
    var pythonParts: [[Int]]
    var armIndices: [[Int]]
    var otherIndices: [[Int]]
    /// Python shares in the population (for picking a pool).
    var pythonWeights: [Double]
    let skew: Double

    init(population p: ClientPopulation, seed: UInt64) {
        var g = SeededGenerator(seed: seed, stream: 11)
        let py = WeightedPicker(p.python.map(\.weight))
        let pip = WeightedPicker(p.pip.map(\.weight))
        let cpu = WeightedPicker(p.cpu.map(\.weight))
        let distro = WeightedPicker(p.distro.map(\.weight))
        skew = p.skew
        pythons = p.python.map(\.value)
        pythonParts = pythons.map(ClientFactory.versionParts)
        armIndices = Array(repeating: [], count: pythons.count)
        otherIndices = Array(repeating: [], count: pythons.count)
        clients = []
        clients.reserveCapacity(p.count)
        var counts = Array(repeating: 0.0, count: pythons.count)
        for i in 0..<p.count {
            let pi = py.pick(&g)
            let t = ClientTraits(
                python: pythons[pi], pip: p.pip[pip.pick(&g)].value, cpu: p.cpu[cpu.pick(&g)].value,
                distro: p.distro[distro.pick(&g)].value, ci: g.unit() < p.ci)
            let c = ClientFactory.make(namespace: 0, number: i, traits: t, seed: seed)
            if c.isARM { armIndices[pi].append(i) } else { otherIndices[pi].append(i) }
            counts[pi] += 1
            clients.append(c)
        }
        pythonWeights = counts
    }

    /// A client index from a pool, busy clients more often (`skew`).
    func pick(_ indices: [Int], _ g: inout SeededGenerator) -> Int {
        let u = g.unit()
        let k = Int(Double(indices.count) * pow(u, skew))
        return indices[min(k, indices.count - 1)]
    }
}

/// Evaluates `requires_python` specifiers (`>=2.7, !=3.0.*, <4`) for a Python version: enough
/// for the simulator to know which clients can install a release.
enum PythonSpecifier {
    static func allows(_ spec: String?, python: [Int]) -> Bool {
        guard let spec, !spec.trimmingCharacters(in: .whitespaces).isEmpty else { return true }
        for raw in spec.split(separator: ",") {
            let c = raw.trimmingCharacters(in: .whitespaces)
            let ops = ["===", "~=", "==", "!=", ">=", "<=", ">", "<"]
            guard let op = ops.first(where: { c.hasPrefix($0) }) else { continue }
            var v = c.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
            let wildcard = v.hasSuffix(".*")
            if wildcard { v = String(v.dropLast(2)) }
            let want = ClientFactory.versionParts(v)
            let n = max(want.count, python.count)
            let a = python + Array(repeating: 0, count: n - python.count)
            let b = want + Array(repeating: 0, count: n - want.count)
            let cmp = a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
            let prefixEqual = Array(python.prefix(want.count)) + Array(repeating: 0, count: max(0, want.count - python.count)) == want
            switch op {
            case "==", "===": if !(wildcard ? prefixEqual : cmp == 0) { return false }
            case "!=": if wildcard ? prefixEqual : cmp == 0 { return false }
            case ">=": if cmp < 0 { return false }
            case "<=": if cmp > 0 { return false }
            case ">": if cmp <= 0 { return false }
            case "<": if cmp >= 0 { return false }
            case "~=":
                if cmp < 0 { return false }
                let head = Array(want.dropLast())
                if Array(python.prefix(head.count)) != head { return false }
            default: break
            }
        }
        return true
    }
}
