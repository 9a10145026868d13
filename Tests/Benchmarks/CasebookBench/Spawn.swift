import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What one measured child process used: wall seconds, CPU seconds (user + system, its own
/// and its waited-for children's, e.g. both sides of a `zcat | goaccess` pipe) and peak
/// resident memory (the largest of the processes).
struct Measured {
    var seconds: Double
    var cpu: Double
    var peakMiB: Double
    var status: Int32
    var stdout: String
    var stderr: String
}

struct SpawnError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `argv` (found on PATH when not a path) with extra environment variables, waits with
/// `wait4` and returns its resource usage. stdout and stderr are kept in files under `scratch`.
///
/// Peak memory comes from GNU time (`/usr/bin/time -f %M`) when present: Linux starts a
/// spawned child's peak at its parent's size, and this harness is larger than a `casebook query`.
func measure(_ argv: [String], env: [String: String] = [:], scratch: String, check: Bool = true) throws -> Measured {
    let outPath = scratch + "/.spawn-stdout"
    let errPath = scratch + "/.spawn-stderr"
    let timePath = scratch + "/.spawn-time"
    let gnuTime = FileManager.default.isExecutableFile(atPath: "/usr/bin/time")
    try? FileManager.default.removeItem(atPath: timePath)
    let argv = gnuTime ? ["/usr/bin/time", "-f", "%M", "-o", timePath] + argv : argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in cArgs + cEnv { free(pointer) }
    }
    var pid: pid_t = 0
    let started = DispatchTime.now().uptimeNanoseconds
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
    guard rc == 0 else { throw SpawnError(description: "cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { throw SpawnError(description: "wait4 failed for \(argv[0])") }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    let cpu =
        Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    let timed = (try? String(contentsOfFile: timePath, encoding: .utf8))?.split(separator: "\n").last.flatMap {
        Double($0.trimmingCharacters(in: .whitespaces))
    }
    let m = Measured(
        seconds: seconds, cpu: cpu, peakMiB: (timed ?? Double(usage.ru_maxrss)) / 1024, status: exit,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    if check && exit != 0 {
        throw SpawnError(description: "\(argv.joined(separator: " ")) exited with \(exit):\n\(m.stderr.suffix(2000))")
    }
    return m
}

/// Runs a shell command line (for pipes), measured the same way.
func measureShell(_ command: String, env: [String: String] = [:], scratch: String, check: Bool = true) throws -> Measured {
    try measure(["/bin/sh", "-c", command], env: env, scratch: scratch, check: check)
}

/// Quotes a path for `/bin/sh`.
func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// A child process running while the benchmark works (a watcher): started with `posix_spawnp`,
/// stdout and stderr in files, ended with SIGTERM and waited for with `wait4`.
final class Background {
    let pid: pid_t
    let argv: [String]

    init(_ argv: [String], env: [String: String] = [:], removeEnv: [String] = [], stdout: String, stderr: String) throws {
        self.argv = argv
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = ProcessInfo.processInfo.environment
        for k in removeEnv { environment.removeValue(forKey: k) }
        for (k, v) in env { environment[k] = v }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArgs + cEnv { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw SpawnError(description: "cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Whether the process has exited (it is then reaped: call ``stop()`` only when running).
    var exited: Bool { kill(pid, 0) != 0 || isZombie }

    private var isZombie: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    /// SIGTERM, then its exit status and CPU seconds (user + system).
    func stop() -> (status: Int32, cpu: Double) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exit, cpu)
    }
}
