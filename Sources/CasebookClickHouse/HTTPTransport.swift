import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One HTTP/1.1 `POST` over a blocking TCP socket (a new connection per request,
/// `Connection: close`): just what ClickHouse's HTTP interface needs.
///
/// Why not `URLSession`: its work runs on libdispatch's global queues, which Swift concurrency's
/// cooperative pool shares. The store's ingest API is synchronous (``IngestTarget``), so a
/// `URLSession` request would have to be waited for with a semaphore on a pool thread, and on a
/// small machine the pool has no thread left to finish it: the first tests hung that way. A
/// blocking socket call waits in the kernel and needs no other thread, like the PostgreSQL
/// store's libpq, so it is safe from synchronous and asynchronous callers alike.
struct HTTPTransport: Sendable {
    /// What went wrong below HTTP.
    enum Failure: Error, Equatable {
        /// The host name does not resolve (the resolver's message).
        case unknownHost(String)
        /// Nothing listens at the address.
        case refused
        /// No answer within the timeout.
        case timedOut
        /// Any other socket error, or an answer that is not HTTP (a message).
        case failed(String)
    }

    /// A parsed answer.
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    var host: String
    var port: Int
    /// Seconds for connecting, and for each wait for the server while sending or reading.
    var timeout: Double

    /// Sends `POST target` (`/?query=...`, already percent-encoded) with `headers` and `body`.
    func post(_ target: String, headers: [(String, String)], body: [UInt8]) throws(Failure) -> Response {
        let fd = try connect()
        defer { close(fd) }
        var head = "POST \(target) HTTP/1.1\r\n"
        head += "Host: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var sendError: Failure?
        do {
            try sendAll(fd, Array(head.utf8))
            try sendAll(fd, body)
        } catch {
            // The server may answer (an authentication error, a syntax error) and close before
            // reading the whole body: its answer is still worth reading.
            sendError = error
        }
        do {
            return try receive(fd)
        } catch {
            throw sendError ?? error
        }
    }

    // MARK: Socket

    private func connect() throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
            hints.ai_socktype = SOCK_STREAM
        #else
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .unknownHost(rc == EAI_SYSTEM ? Self.errnoText(errno) : String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        var last: Failure = .failed("no address for the host")
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else {
                last = .failed(Self.errnoText(errno))
                continue
            }
            do {
                try connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
                return fd
            } catch {
                close(fd)
                last = error
            }
        }
        throw last
    }

    /// Connects within the timeout (a non-blocking connect, then `poll`), then sets the socket
    /// back to blocking with send and receive timeouts.
    private func connect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) throws(Failure) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if systemConnect(fd, addr, len) != 0 {
            let e = errno
            guard e == EINPROGRESS else { throw Self.failure(e) }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&p, 1, Int32(clamping: Int((timeout * 1000).rounded(.up))))
            if ready == 0 { throw .timedOut }
            if ready < 0 { throw Self.failure(errno) }
            var soError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size)
            if soError != 0 { throw Self.failure(soError) }
        }
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var tv = timeval()
        tv.tv_sec = .init(timeout.rounded(.down))
        tv.tv_usec = .init((timeout - timeout.rounded(.down)) * 1_000_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                send(fd, buf.baseAddress! + offset, buf.count - offset, Self.noSignal)
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw Self.failure(e)
            }
            offset += n
        }
    }

    /// Reads one answer: up to the end of its body (by `Content-Length`, the last chunk, or the
    /// connection's end), without waiting for a kept-alive connection to close.
    private func receive(_ fd: Int32) throws(Failure) -> Response {
        var raw: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var head: (end: Int, response: Response)?
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                // A reset after a complete answer (the server closed with our body unread) is fine.
                if e == ECONNRESET || e == EPIPE, let r = Self.parse(raw) { return r }
                throw Self.failure(e)
            }
            if n == 0 {
                if let r = Self.parse(raw, atEnd: true) { return r }
                throw .failed(raw.isEmpty ? "the server closed the connection without answering" : "the answer is not HTTP")
            }
            let searchFrom = max(0, raw.count - 3)
            raw.append(contentsOf: chunk[0..<n])
            if head == nil, let end = Self.headerEnd(raw, from: searchFrom) {
                guard let r = Self.parseHead(raw[0..<end]) else { throw .failed("the answer is not HTTP") }
                head = (end, r)
            }
            guard let (end, r) = head else { continue }
            let bodyStart = end + 4
            if r.isChunked {
                // Only try to decode once the last chunk may have come.
                if raw.count >= bodyStart + 5, raw.suffix(5).elementsEqual([48, 13, 10, 13, 10]),
                    let body = Self.dechunk(raw[bodyStart...])
                {
                    return Response(status: r.status, headers: r.headers, body: body)
                }
            } else if let length = r.contentLength, raw.count >= bodyStart + length {
                return Response(status: r.status, headers: r.headers, body: Array(raw[bodyStart..<(bodyStart + length)]))
            }
        }
    }

    #if canImport(Darwin)
        private static let noSignal: Int32 = 0
    #else
        private static let noSignal = Int32(MSG_NOSIGNAL)
    #endif

    private static func failure(_ e: Int32) -> Failure {
        switch e {
        case ECONNREFUSED: .refused
        case ETIMEDOUT, EAGAIN, EWOULDBLOCK: .timedOut
        default: .failed(errnoText(e))
        }
    }

    private static func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

    // MARK: Parsing

    /// Where the header ends (the index of its blank line's CR), searching from `from`.
    static func headerEnd(_ raw: [UInt8], from: Int) -> Int? {
        guard raw.count >= 4 else { return nil }
        return (from...(raw.count - 4)).first { raw[$0] == 13 && raw[$0 + 1] == 10 && raw[$0 + 2] == 13 && raw[$0 + 3] == 10 }
    }

    /// The status line and headers (without a body yet); nil when they are not HTTP.
    static func parseHead(_ head: ArraySlice<UInt8>) -> Response? {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return Response(status: status, headers: headers, body: [])
    }

    /// Parses a whole answer; nil when it is incomplete or not HTTP. `atEnd`: the connection has
    /// closed, so an answer without `Content-Length` or chunks ends here.
    static func parse(_ raw: [UInt8], atEnd: Bool = false) -> Response? {
        guard let end = headerEnd(raw, from: 0), var r = parseHead(raw[0..<end]) else { return nil }
        let rest = raw[(end + 4)...]
        if r.isChunked {
            guard let body = dechunk(rest) else { return nil }
            r.body = body
        } else if let length = r.contentLength {
            guard rest.count >= length else { return nil }
            r.body = Array(rest.prefix(length))
        } else {
            guard atEnd else { return nil }
            r.body = Array(rest)
        }
        return r
    }

    /// Decodes a chunked body; nil when it is cut short or malformed.
    static func dechunk(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while true {
            guard let lineEnd = (i..<max(i, bytes.endIndex - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else {
                return nil
            }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return nil }
            i = lineEnd + 2
            // The last chunk: complete with the blank line that ends the message (no trailers).
            if size == 0 { return bytes.endIndex >= i + 2 && bytes[i] == 13 && bytes[i + 1] == 10 ? out : nil }
            guard bytes.endIndex >= i + size + 2 else { return nil }
            out.append(contentsOf: bytes[i..<(i + size)])
            i += size + 2
        }
    }
}

extension HTTPTransport.Response {
    var isChunked: Bool { header("Transfer-Encoding")?.lowercased().contains("chunked") == true }
    var contentLength: Int? { header("Content-Length").flatMap { Int($0) } }
}

/// The system's `connect` (the name is taken by ``HTTPTransport``'s own methods).
@inline(__always)
private func systemConnect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> Int32 {
    #if canImport(Glibc)
        Glibc.connect(fd, addr, len)
    #elseif canImport(Musl)
        Musl.connect(fd, addr, len)
    #else
        Darwin.connect(fd, addr, len)
    #endif
}
