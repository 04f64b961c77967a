import NIOCore
import NIOHTTP1
import Portcullis

/// Serves one connection of an `UpstreamStub` according to its `Behavior`.
///
/// Request bodies are consumed as they stream in and only counted and checksummed. A request is
/// recorded once its body has ended (`.closeImmediately`: once its head arrived), before any
/// response is written, so a test that awaits the record never races the response.
final class UpstreamStubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Size of each write of a `.stream` body.
    static let chunkSize = 64 * 1024
    /// `chunkSize` bytes of the stream pattern for every possible start phase: chunk `n` is a
    /// zero-copy slice of this at `offset % 251`.
    static let pattern: ByteBuffer = {
        var buffer = ByteBufferAllocator().buffer(capacity: chunkSize + 251)
        for offset in 0..<(chunkSize + 251) {
            buffer.writeInteger(UpstreamStub.streamByte(at: offset))
        }
        return buffer
    }()

    private let behavior: UpstreamStub.Behavior
    private let record: @Sendable (RecordedRequest) -> Void

    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var checksum = FNV1a64()
    /// Bytes of a `.stream` body still to write, and the offset of the next one.
    private var streamRemaining = 0
    private var streamOffset = 0
    private var streamKeepAlive = true

    init(behavior: UpstreamStub.Behavior, record: @escaping @Sendable (RecordedRequest) -> Void) {
        self.behavior = behavior
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            bodyBytes = 0
            checksum = FNV1a64()
            if case .closeImmediately = behavior {
                // Parts of this request still buffered in the same read must not record it twice.
                head = nil
                record(recordedRequest(requestHead))
                context.close(promise: nil)
            } else {
                head = requestHead
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            checksum.update(buffer.readableBytesView)
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let request = recordedRequest(requestHead)
            record(request)
            respond(context: context, to: request, keepAlive: requestHead.isKeepAlive)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if streamRemaining > 0, context.channel.isWritable {
            writeStreamChunks(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        streamRemaining = 0
        context.fireChannelInactive()
    }

    private func recordedRequest(_ head: HTTPRequestHead) -> RecordedRequest {
        RecordedRequest(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
            bodyBytes: bodyBytes, bodyChecksum: checksum.value)
    }

    private func respond(context: ChannelHandlerContext, to request: RecordedRequest, keepAlive: Bool) {
        switch behavior {
        case .echo:
            writeEcho(context: context, request: request, keepAlive: keepAlive)
        case .delay(let delay):
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                guard context.channel.isActive else { return }
                self.writeEcho(context: context, request: request, keepAlive: keepAlive)
            }
        case .status(let code):
            let body = #"{"status":\#(code)}"#
            writeComplete(
                context: context, status: HTTPResponseStatus(statusCode: code), contentType: "application/json",
                body: body, keepAlive: keepAlive)
        case .stream(let count), .streamChunked(let count):
            var headers = HTTPHeaders([("Content-Type", "application/octet-stream")])
            // Without a Content-Length, NIO's encoder frames an HTTP/1.1 body as chunked.
            if case .stream = behavior { headers.add(name: "Content-Length", value: "\(count)") }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            streamRemaining = count
            streamOffset = 0
            streamKeepAlive = keepAlive
            writeStreamChunks(context: context)
        case .closeImmediately:
            context.close(promise: nil)
        }
    }

    private func writeEcho(context: ChannelHandlerContext, request: RecordedRequest, keepAlive: Bool) {
        let echo: JSONValue = .object([
            "method": .string(request.method),
            "uri": .string(request.uri),
            "headers": .array(request.headers.map { .array([.string($0.0), .string($0.1)]) }),
            "body_bytes": .number(Double(request.bodyBytes)),
            "body_checksum": .string(String(request.bodyChecksum, radix: 16)),
        ])
        writeComplete(
            context: context, status: .ok, contentType: "application/json", body: echo.compactText,
            keepAlive: keepAlive)
    }

    private func writeComplete(
        context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: String, keepAlive: Bool
    ) {
        let hasBody = status.code >= 200 && status.code != 204 && status.code != 304
        var headers = HTTPHeaders()
        if hasBody {
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil)
        if hasBody {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
                promise: nil)
        }
        finishResponse(context: context, keepAlive: keepAlive)
    }

    /// Writes chunks while the channel is writable; `channelWritabilityChanged` resumes the rest,
    /// so a slow reader holds at most one high-water mark of the body in memory.
    private func writeStreamChunks(context: ChannelHandlerContext) {
        while streamRemaining > 0, context.channel.isWritable {
            let length = min(Self.chunkSize, streamRemaining)
            // `pattern` holds chunkSize + 251 bytes, so a chunkSize slice fits at any phase below 251.
            let chunk = Self.pattern.getSlice(at: streamOffset % 251, length: length)!
            streamOffset += length
            streamRemaining -= length
            context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        }
        if streamRemaining == 0 {
            finishResponse(context: context, keepAlive: streamKeepAlive)
        } else {
            context.flush()
        }
    }

    private func finishResponse(context: ChannelHandlerContext, keepAlive: Bool) {
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension UpstreamStubHandler: Sendable {}
