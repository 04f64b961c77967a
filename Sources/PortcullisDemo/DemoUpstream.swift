import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Portcullis

/// `portcullis-demo`: a tiny upstream to try the gateway with.
///
/// - `POST /auth/login` `{"username": U, "password": "demo"}` -> `{"access_token", "refresh_token"}`
///   signed with the first HMAC/private key of the gateway config (so the gateway accepts them).
/// - `POST /auth/refresh` -> a new access token for the `X-User-Id` the gateway verified and forwarded.
/// - anything else -> echoes method, path and headers as JSON.
///
/// Usage: `portcullis-demo [--config gateway.yaml] [--listen 127.0.0.1:9000]`
@main
enum DemoUpstream {
    static func main() async throws {
        var configPath = ProcessInfo.processInfo.environment["PORTCULLIS_CONFIG"] ?? "gateway.yaml"
        var listen = "127.0.0.1:9000"
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--config": configPath = arguments.next() ?? configPath
            case "--listen": listen = arguments.next() ?? listen
            default:
                FileHandle.standardError.write(Data("usage: portcullis-demo [--config FILE] [--listen HOST:PORT]\n".utf8))
                exit(1)
            }
        }
        let minter: TokenMinter
        do {
            let config = try ConfigLoader.load(file: configPath)
            minter = try TokenMinter(settings: config.jwt)
        } catch {
            FileHandle.standardError.write(Data("portcullis-demo: \(error)\n".utf8))
            exit(1)
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            FileHandle.standardError.write(Data("portcullis-demo: --listen must be HOST:PORT\n".utf8))
            exit(1)
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DemoHandler(minter: minter))
                }
            }
            .bind(host: host, port: port)
            .get()
        print("portcullis-demo listening on \(listen)")
        try await channel.closeFuture.get()
    }
}

/// Answers one request at a time on a connection (bodies are small JSON documents).
final class DemoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let minter: TokenMinter
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(minter: TokenMinter) {
        self.minter = minter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = nil
        case .body(var bytes):
            if body == nil { body = bytes } else { body!.writeBuffer(&bytes) }  // non-nil checked
        case .end:
            guard let head else { return }
            let (status, json) = respond(to: head, body: body)
            let text = json.compactText + "\n"
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(text.utf8.count)")])
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { boundContext.value.close(promise: nil) }
            }
            self.head = nil
        }
    }

    private func respond(to head: HTTPRequestHead, body: ByteBuffer?) -> (HTTPResponseStatus, JSONValue) {
        let now = Int64(Date().timeIntervalSince1970)
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.POST, "/auth/login"):
            let credentials = body.flatMap { JSONValue.parse($0.readableBytesView) }
            guard let username = credentials?["username"]?.stringValue, !username.isEmpty,
                credentials?["password"]?.stringValue == "demo"
            else {
                return (.unauthorized, ["error": "invalid_credentials", "message": "Use any username with the password \"demo\"."])
            }
            return (.ok, tokens(for: username, now: now, includeRefresh: true))
        case (.POST, "/auth/refresh"):
            guard let subject = head.headers.first(name: "X-User-Id") else {
                return (.badRequest, ["error": "no_subject", "message": "The gateway did not forward X-User-Id."])
            }
            return (.ok, tokens(for: subject, now: now, includeRefresh: false))
        default:
            let headers = head.headers.map { JSONValue.array([.string($0.name), .string($0.value)]) }
            return (.ok, ["method": .string(head.method.rawValue), "path": .string(head.uri), "headers": .array(headers)])
        }
    }

    private func tokens(for subject: String, now: Int64, includeRefresh: Bool) -> JSONValue {
        var result: [String: JSONValue] = [
            "access_token": .string(minter.mint(subject: subject, type: .access, ttl: .seconds(15 * 60), now: now)),
            "token_type": "Bearer",
            "expires_in": 900,
        ]
        if includeRefresh {
            result["refresh_token"] = .string(minter.mint(subject: subject, type: .refresh, ttl: .seconds(7 * 86400), now: now))
        }
        return .object(result)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}
