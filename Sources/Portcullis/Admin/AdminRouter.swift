import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Maps one admin request to its answer (SPEC section 5). `/admin/*` needs the admin token
/// and is 404 without one configured; `/healthz`, `/readyz` and `/metrics` are open, like
/// Envoy's and HAProxy's stats endpoints (the admin listener belongs on a private address).
struct AdminRouter {
    let runtime: GatewayRuntime
    let metrics: GatewayMetrics
    /// `nil` where nothing can be reloaded (a gateway built from text in tests).
    let reloader: ConfigReloader?
    let loop: EventLoop
    let logger: Logger

    /// The answer, on `loop`; never fails (every problem is an answer).
    func respond(to head: HTTPRequestHead, body: [UInt8]) -> EventLoopFuture<AdminResponse> {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        switch path {
        case "/healthz":
            guard head.method == .GET else { return answer(.methodNotAllowed(allow: "GET")) }
            return answer(AdminResponse(status: 200, body: #"{"status":"ok"}"#))
        case "/readyz":
            guard head.method == .GET else { return answer(.methodNotAllowed(allow: "GET")) }
            return AdminReadiness.check(runtime, on: loop)
        case "/metrics":
            guard head.method == .GET else { return answer(.methodNotAllowed(allow: "GET")) }
            return answer(.metrics(String(decoding: metrics.render(), as: UTF8.self)))
        default:
            guard path == "/admin" || path.hasPrefix("/admin/") else { return answer(.notFound) }
            return admin(path: path, head: head, body: body)
        }
    }

    private func admin(path: String, head: HTTPRequestHead, body: [UInt8]) -> EventLoopFuture<AdminResponse> {
        guard let credential = AdminCredential(token: runtime.config.admin?.token) else {
            return answer(.notFound)
        }
        let authorization = head.headers["authorization"]
        guard authorization.count <= 1, credential.accepts(authorization: authorization.first) else {
            return answer(.unauthorized)
        }
        let revocations = AdminRevocations(runtime: runtime, loop: loop, logger: logger)
        let lookupPrefix = "/admin/revocations/"
        if path == "/admin/revoke" {
            guard head.method == .POST else { return answer(.methodNotAllowed(allow: "POST")) }
            return revocations.revoke(body: body)
        }
        if path == "/admin/reload", let reloader {
            guard head.method == .POST else { return answer(.methodNotAllowed(allow: "POST")) }
            return reload(reloader)
        }
        if path.hasPrefix(lookupPrefix) {
            guard head.method == .GET else { return answer(.methodNotAllowed(allow: "GET")) }
            guard let jti = Self.percentDecoded(path.utf8.dropFirst(lookupPrefix.utf8.count)) else {
                return answer(.badRequest("The jti in the path is not validly percent-encoded UTF-8."))
            }
            guard !jti.isEmpty else { return answer(.badRequest("The path must name a jti: /admin/revocations/<jti>.")) }
            return revocations.lookup(jti: jti)
        }
        return answer(.notFound)
    }

    /// Same as SIGHUP; the file is read and the plugin possibly created on a thread-pool
    /// thread, never on the event loop.
    private func reload(_ reloader: ConfigReloader) -> EventLoopFuture<AdminResponse> {
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) { reloader.reload() }.map { outcome in
            switch outcome {
            case .reloaded: return AdminResponse(status: 200, body: #"{"reloaded":true}"#)
            case .failed(let problems):
                return .error(400, "invalid_config", problems.joined(separator: "\n"))
            }
        }.recover { error in
            .error(503, "reload_unavailable", "The reload could not run: \(error).")
        }
    }

    private func answer(_ response: AdminResponse) -> EventLoopFuture<AdminResponse> {
        loop.makeSucceededFuture(response)
    }

    /// `%XX` escapes decoded (a `+` stays a `+`: this is a path, not a form); `nil` for a
    /// truncated or non-hex escape or bytes that are not UTF-8.
    static func percentDecoded<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            output.append(high << 4 | low)
        }
        return String(validating: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
