import NIOCore
import NIOHTTP1
import NIOPosix
import PortcullisTestSupport

/// A minimal HTTP/1.1 client over `NIOAsyncChannel`, for talking to an `UpstreamStub` in tests.
enum StubTestClient {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        /// Empty when the request asked not to keep the body.
        var body: [UInt8]
        var bodyBytes: Int
        var bodyChecksum: UInt64

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// One open connection; `send` runs one request/response exchange on it.
    struct Connection {
        var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

        /// Sends a request (a body in 16 KiB chunks with a `Content-Length`) and reads the
        /// response; nil when the connection closes before a complete response.
        mutating func send(
            method: HTTPMethod, uri: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
            keepBody: Bool = true
        ) async throws -> Response? {
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
            head.headers.add(name: "Host", value: "127.0.0.1")
            head.headers.add(contentsOf: headers)
            if let body { head.headers.add(name: "Content-Length", value: "\(body.count)") }
            try await outbound.write(.head(head))
            if let body {
                var offset = 0
                while offset < body.count {
                    let end = min(offset + 16384, body.count)
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body[offset..<end]))))
                    offset = end
                }
            }
            try await outbound.write(.end(nil))

            var response: Response?
            var checksum = FNV1a64()
            while let part = try await inbound.next() {
                switch part {
                case .head(let responseHead):
                    response = Response(
                        status: Int(responseHead.status.code), headers: responseHead.headers.map { ($0.name, $0.value) },
                        body: [], bodyBytes: 0, bodyChecksum: 0)
                case .body(let buffer):
                    checksum.update(buffer.readableBytesView)
                    response?.bodyBytes += buffer.readableBytes
                    if keepBody { response?.body += buffer.readableBytesView }
                case .end:
                    response?.bodyChecksum = checksum.value
                    return response
                }
            }
            return nil
        }
    }

    /// Connects to `127.0.0.1:port`, runs `body`, and closes the connection.
    static func withConnection<Result: Sendable>(
        port: Int, _ body: (inout Connection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = Connection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }
}
