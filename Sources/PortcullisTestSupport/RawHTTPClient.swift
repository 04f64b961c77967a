import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A response as read off the wire by `RawHTTPClient`.
public struct RawResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    /// The body, unless the client was asked to only count it.
    public var body: [UInt8]
    public var bodyBytes: Int
    public var bodyChecksum: UInt64

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A plain TCP client that sends exact bytes and parses responses itself, so tests see what
/// the gateway really put on the wire (no client library normalising it).
public final class RawHTTPClient: Sendable {
    private let channel: Channel
    private let collector: ResponseCollector
    /// Over TLS: the certificate the server presented.
    public let peerCertificate: NIOSSLCertificate?

    private init(channel: Channel, collector: ResponseCollector, peerCertificate: NIOSSLCertificate? = nil) {
        self.channel = channel
        self.collector = collector
        self.peerCertificate = peerCertificate
    }

    public static func connect(port: Int, host: String = "127.0.0.1", keepBody: Bool = true) async throws -> RawHTTPClient {
        let collector = ResponseCollector(keepBody: keepBody)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: host, port: port)
            .get()
        return RawHTTPClient(channel: channel, collector: collector)
    }

    /// Connects over TLS with `tls` and returns once the handshake completed (throws its error
    /// otherwise). `serverHostname` is sent as SNI and checked against the certificate.
    public static func connect(
        port: Int, host: String = "127.0.0.1", tls: NIOSSLContext, serverHostname: String? = "localhost",
        keepBody: Bool = true
    ) async throws -> RawHTTPClient {
        let collector = ResponseCollector(keepBody: keepBody)
        let handshake = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: NIOSSLCertificate?.self)
        let connected = ClientBootstrap(group: handshake.futureResult.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    try pipeline.addHandler(TLSHandshakeWaiter(handshake))
                    try pipeline.addHandler(collector)
                }
            }
            .connect(host: host, port: port)
        connected.whenFailure { handshake.fail($0) }
        let channel = try await connected.get()
        do {
            let certificate = try await handshake.futureResult.get()
            return RawHTTPClient(channel: channel, collector: collector, peerCertificate: certificate)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    public func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes).get()
    }

    /// Streams `count` pattern bytes (`i % 251`) in 64 KiB writes, waiting for each write.
    public func sendPattern(count: Int, chunked: Bool = false) async throws {
        var offset = 0
        while offset < count {
            let size = min(65536, count - offset)
            var buffer = channel.allocator.buffer(capacity: size + 16)
            if chunked { buffer.writeString(String(size, radix: 16) + "\r\n") }
            let start = offset
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                for index in 0..<size { raw[index] = UInt8((start + index) % 251) }
                return size
            }
            if chunked { buffer.writeString("\r\n") }
            try await channel.writeAndFlush(buffer).get()
            offset += size
        }
        if chunked { try await send("0\r\n\r\n") }
    }

    /// The next complete response; `isHead` for a response to HEAD (no body).
    public func response(isHead: Bool = false, timeout: Duration = .seconds(10)) async throws -> RawResponse {
        try await collector.next(isHead: isHead, eventLoop: channel.eventLoop, timeout: timeout)
    }

    /// Completes when the gateway closed the connection; throws `timedOut` if it has not
    /// within `timeout`.
    public func waitForClose(timeout: Duration = .seconds(10)) async throws {
        let eventLoop = channel.eventLoop
        let closed = channel.closeFuture
        let deadline = eventLoop.scheduleTask(in: .seconds(timeout.components.seconds)) {}
        defer { deadline.cancel() }
        let first = eventLoop.makePromise(of: Bool.self)
        closed.whenComplete { _ in first.succeed(true) }
        deadline.futureResult.whenComplete { _ in first.succeed(false) }
        guard try await first.futureResult.get() else { throw RawClientError.timedOut }
    }

    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Parses responses off the connection (head, Content-Length, chunked or until close).
final class ResponseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var buffer = ByteBuffer()
        var closed = false
        var waiter: (isHead: Bool, promise: EventLoopPromise<RawResponse>)?
    }

    private let keepBody: Bool
    private let state = NIOLockedValueBox(State())

    init(keepBody: Bool) {
        self.keepBody = keepBody
    }

    func next(isHead: Bool, eventLoop: EventLoop, timeout: Duration) async throws -> RawResponse {
        let promise = eventLoop.makePromise(of: RawResponse.self)
        let seconds = timeout.components.seconds
        let deadline = eventLoop.scheduleTask(in: .seconds(seconds)) {
            promise.fail(RawClientError.timedOut)
        }
        eventLoop.execute {
            self.state.withLockedValue { $0.waiter = (isHead, promise) }
            self.tryComplete()
        }
        defer { deadline.cancel() }
        return try await promise.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        _ = state.withLockedValue { $0.buffer.writeBuffer(&bytes) }
        tryComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        tryComplete()
        let waiter = state.withLockedValue { state -> EventLoopPromise<RawResponse>? in
            defer { state.waiter = nil }
            return state.waiter?.promise
        }
        waiter?.fail(RawClientError.closed)
    }

    private func tryComplete() {
        let result: (EventLoopPromise<RawResponse>, Result<RawResponse, RawClientError>)? = state.withLockedValue { state in
            guard let waiter = state.waiter else { return nil }
            if let response = Self.parse(&state.buffer, isHead: waiter.isHead, closed: state.closed, keepBody: keepBody) {
                state.waiter = nil
                return (waiter.promise, .success(response))
            }
            // Asked after the connection closed with no complete response left: fail now, not at the deadline.
            guard state.closed else { return nil }
            state.waiter = nil
            return (waiter.promise, .failure(.closed))
        }
        if let (promise, outcome) = result { promise.completeWith(outcome.mapError { $0 }) }
    }

    /// Consumes one complete response from `buffer`, or leaves it untouched.
    static func parse(_ buffer: inout ByteBuffer, isHead: Bool, closed: Bool, keepBody: Bool) -> RawResponse? {
        let text = buffer.readableBytesView
        guard let headEnd = text.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let headLength = headEnd.upperBound - text.startIndex
        let head = String(decoding: text[text.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ")[1]) ?? 0
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!  // the gateway writes `name: value`
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = RawResponse(status: status, headers: headers, body: [], bodyBytes: 0, bodyChecksum: 0xcbf2_9ce4_8422_2325)
        var body = buffer.getSlice(at: buffer.readerIndex + headLength, length: buffer.readableBytes - headLength)!
        func take(_ bytes: ByteBufferView) {
            response.bodyBytes += bytes.count
            // A raw loop: this runs on a shared test event loop, even in debug builds.
            var hash = response.bodyChecksum
            bytes.withUnsafeBytes { raw in
                for byte in raw { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            }
            response.bodyChecksum = hash
            if keepBody { response.body.append(contentsOf: bytes) }
        }
        if isHead || status == 204 || status == 304 || status < 200 {
            buffer.moveReaderIndex(forwardBy: headLength)
            return response
        }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            guard body.readableBytes >= length else { return nil }
            take(body.readableBytesView.prefix(length))
            buffer.moveReaderIndex(forwardBy: headLength + length)
            return response
        }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var decoder = ChunkedDecoderForTests()
            guard let consumed = decoder.decode(body.readableBytesView, into: take) else {
                response = RawResponse(status: status, headers: headers, body: [], bodyBytes: 0, bodyChecksum: 0xcbf2_9ce4_8422_2325)
                return nil
            }
            buffer.moveReaderIndex(forwardBy: headLength + consumed)
            return response
        }
        guard closed else { return nil }
        take(body.readableBytesView)
        body.clear()
        buffer.clear()
        return response
    }
}

/// A minimal chunked decoder for the test client (independent of the gateway's own).
struct ChunkedDecoderForTests {
    /// Returns the bytes consumed when the whole chunked body is present, else nil.
    mutating func decode(_ bytes: ByteBufferView, into take: (ByteBufferView) -> Void) -> Int? {
        var index = bytes.startIndex
        var pieces: [Range<Int>] = []
        while true {
            guard let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else { return nil }
            index = lineEnd.upperBound
            if size == 0 {
                guard let end = bytes[index...].firstRange(of: Array("\r\n".utf8)) else { return nil }
                index = end.upperBound
                for piece in pieces { take(bytes[piece]) }
                return index - bytes.startIndex
            }
            guard bytes.endIndex - index >= size + 2 else { return nil }
            pieces.append(index..<index + size)
            index += size + 2
        }
    }
}

public enum RawClientError: Error {
    case timedOut
    case closed
}
