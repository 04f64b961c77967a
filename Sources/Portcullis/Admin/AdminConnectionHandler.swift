import Logging
import NIOCore
import NIOHTTP1

/// One admin connection behind NIOHTTP1's server pipeline: collects a request (body up to
/// `maxBodyBytes`), asks `AdminRouter` for the answer and writes it. Pipelined requests are
/// held back by `HTTPServerPipelineHandler` until the previous answer is written.
final class AdminConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Admin bodies are small JSON objects; anything bigger is refused, not buffered.
    static let maxBodyBytes = 64 * 1024

    private enum State {
        case idle
        case receiving(HTTPRequestHead, body: [UInt8])
        /// The body is over the limit: the rest is read and dropped, then 413.
        case discarding(HTTPRequestHead)
        case responding
    }

    private let runtimeBox: RuntimeBox
    private let reloader: ConfigReloader?
    private let logger: Logger
    private var state = State.idle

    init(runtimeBox: RuntimeBox, reloader: ConfigReloader?, logger: Logger) {
        self.reloader = reloader
        self.runtimeBox = runtimeBox
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), _):
            let declared = head.headers["content-length"].first.flatMap { Int($0) } ?? 0
            state = declared > Self.maxBodyBytes ? .discarding(head) : .receiving(head, body: [])
        case (.body(let chunk), .receiving(let head, var body)):
            guard body.count + chunk.readableBytes <= Self.maxBodyBytes else {
                state = .discarding(head)
                return
            }
            state = .idle  // Not a copy-on-write copy of `body` while appending.
            body.append(contentsOf: chunk.readableBytesView)
            state = .receiving(head, body: body)
        case (.body, _):
            break
        case (.end, .receiving(let head, let body)):
            state = .responding
            let router = AdminRouter(
                runtime: runtimeBox.runtime, metrics: runtimeBox.metrics, reloader: reloader, loop: context.eventLoop,
                logger: logger
            )
            router.respond(to: head, body: body).assumeIsolated().whenSuccess { [self] response in
                write(response, for: head, keepAlive: head.isKeepAlive, context: context)
            }
        case (.end, .discarding(let head)):
            state = .responding
            write(.payloadTooLarge, for: head, keepAlive: false, context: context)
        case (.end, _):
            break
        }
    }

    private func write(_ response: AdminResponse, for head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let requestID = head.headers["x-request-id"].first.flatMap { id in
            (1...200).contains(id.utf8.count) && id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) ? id : nil
        }
        let responseHead = response.head(version: head.version, keepAlive: keepAlive, requestID: requestID)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        buffer.writeString(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        state = .idle
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if !keepAlive {
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A malformed request (NIOHTTP1 answers 400 itself) or a reset: nothing to add.
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension AdminConnectionHandler: Sendable {}
