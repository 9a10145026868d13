import CasebookCore
import Foundation

// Shared by the benchmark executables (casebook-bench, casebook-pg-bench): a deterministic log
// generator and the process's resource figures.

/// Peak resident memory of this process (or of the running process `pid`), from /proc
/// (Linux), in MiB.
public func peakMemoryMiB(pid: Int32? = nil) -> Double {
    let file = "/proc/\(pid.map { String($0) } ?? "self")/status"
    guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kb / 1024
    }
    return 0
}

/// CPU seconds (user + system) used by this process so far, all threads.
public func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

/// A deterministic generator of realistic piwheels-style log lines.
public struct LogGenerator {
    public init() {}

    var rng: UInt64 = 0x5EED

    public mutating func next() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }

    /// Zipf-like popularity: low indexes are much more popular.
    public mutating func popular(_ n: Int) -> Int {
        let u = Double(next() % 1_000_000) / 1_000_000
        return min(n - 1, Int(pow(u, 3) * Double(n)))
    }

    let projects: [String] = (0..<800).map { "package-\($0)" } + ["numpy", "pycparser", "cffi", "Flask_Login", "Markdown", "sentry_sdk"]
    lazy var agents: [String] = {
        var out: [String] = []
        for pip in ["9.0.1", "18.1", "19.3.1", "20.0.2"] {
            for (py, cpu, distro, rel) in [
                ("2.7.13", "armv7l", "9", "4.19.97-v7+"), ("3.5.3", "armv7l", "9", "4.19.97-v7+"),
                ("3.7.3", "armv7l", "10", "4.19.118-v7l+"), ("2.7.16", "armv6l", "10", "4.19.66+"),
                ("3.7.3", "aarch64", "10", "5.4.51-v8+")
            ] {
                let json =
                    #"{"cpu":"\#(cpu)","distro":{"id":"buster","libc":{"lib":"glibc","version":"2.28"},"name":"Raspbian GNU/Linux","version":"\#(distro)"},"implementation":{"name":"CPython","version":"\#(py)"},"installer":{"name":"pip","version":"\#(pip)"},"openssl_version":"OpenSSL 1.1.1d  10 Sep 2019","python":"\#(py)","setuptools_version":"40.8.0","system":{"name":"Linux","release":"\#(rel)"}}"#
                out.append("pip/\(pip) " + json.replacingOccurrences(of: "\"", with: "\\\""))
            }
        }
        return out
    }()

    public mutating func line(at t: Int64) -> String {
        let (y, m, d) = UTCTime.civilFromDays(t / 86400)
        let s = Int(t % 86400)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let time = String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", d, months[m - 1], y, s / 3600, s / 60 % 60, s % 60)
        // 50,000 clients, a few very active (mirrors, CI), most occasional.
        let c = popular(50_000)
        let ip = "10.\(c >> 16).\((c >> 8) & 255).\(c & 255)"
        let project = projects[popular(projects.count)]
        let agent = pick(agents)
        let roll = next() % 10
        let path: String
        if roll < 7 {
            path = "/simple/\(ProjectName.normalize(project))/\(project)-1.\(next() % 5).0-cp37-cp37m-linux_armv7l.whl"
        } else {
            path = "/simple/\(ProjectName.normalize(project))/"
        }
        return "\(ip) - - [\(time)] \"GET \(path) HTTP/1.1\" 200 \(1000 + next() % 100000) \"-\" \"\(agent)\""
    }
}

extension LogGenerator {
    /// Writes `lines` generated lines to `path`, spread evenly over 90 days from 1 January 2020.
    public static func writeLog(lines: Int, to path: String) throws {
        var gen = LogGenerator()
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        var chunk = ""
        let start = UTCTime.epoch(year: 2020, month: 1, day: 1)
        let span = Int64(90 * 86400)
        for i in 0..<lines {
            chunk += gen.line(at: start + Int64(i) * span / Int64(lines)) + "\n"
            if chunk.utf8.count > 1 << 20 {
                handle.write(Data(chunk.utf8))
                chunk = ""
            }
        }
        handle.write(Data(chunk.utf8))
        try handle.close()
    }
}

/// The package root: the first folder above `file` (a benchmark's own source, by default) that
/// holds `Package.swift`, else the working directory. Benchmarks read `playbooks/` and `examples/` there.
public func packageRoot(of file: String = #filePath) -> URL {
    var url = URL(fileURLWithPath: file)
    while url.path != "/" {
        url = url.deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}
