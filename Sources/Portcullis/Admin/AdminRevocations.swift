#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Logging
import NIOCore

/// `POST /admin/revoke` and `GET /admin/revocations/<jti>`: revocations made and looked up
/// through the runtime's blocklist, every plugin call through `RevocationService.perform` so
/// a blocking plugin never runs on the event loop.
struct AdminRevocations {
    let runtime: GatewayRuntime
    let loop: EventLoop
    let logger: Logger

    /// Revokes what `body` names; the token itself is never logged or echoed.
    func revoke(body: [UInt8]) -> EventLoopFuture<AdminResponse> {
        let request: AdminRevokeRequest
        switch AdminRevokeRequest.parse(body) {
        case .success(let parsed): request = parsed
        case .failure(let invalid): return loop.makeSucceededFuture(.badRequest(invalid.message))
        }
        switch request {
        case .token(let token):
            switch runtime.verifier.verifySignatureAndClaims(token) {
            case .success(let verified):
                let entry = RevocationWindow.entry(for: verified, jwt: runtime.config.jwt)
                return revokeToken(entry)
            case .failure(let failure):
                return loop.makeSucceededFuture(.error(400, "invalid_token", failure.message))
            }
        case .jti(let jti, let expiresAt):
            return revokeToken(RevocationToken(jti: jti, expiresAt: expiresAt))
        case .subject(let subject):
            return revokeSubject(subject)
        }
    }

    /// Whether `jti` is revoked, as the plugin says.
    func lookup(jti: String) -> EventLoopFuture<AdminResponse> {
        guard let revocation = runtime.revocation else {
            return loop.makeSucceededFuture(.revocationUnavailable)
        }
        return revocation.perform(on: loop) { plugin throws(PluginCallError) in
            try plugin.isRevoked(RevocationToken(jti: jti))
        }.map { [logger] result in
            switch result {
            case .success(let revoked):
                var body = #"{"jti":"#
                JSONValue.writeString(jti, to: &body)
                body += #","revoked":\#(revoked)}"#
                return AdminResponse(status: 200, body: body)
            case .failure(let error):
                logger.warning("admin revocation lookup failed: \(error)")
                return .revocationUnavailable
            }
        }
    }

    private func revokeToken(_ entry: RevocationToken) -> EventLoopFuture<AdminResponse> {
        guard let revocation = runtime.revocation else {
            return loop.makeSucceededFuture(.revocationUnavailable)
        }
        let expiresAt = entry.expiresAt ?? .max
        return revocation.perform(on: loop) { plugin throws(PluginCallError) in
            try plugin.revoke(entry)
        }.map { [logger] result in
            switch result {
            case .success:
                logger.info("admin revoked a token", metadata: ["portcullis.jti": "\(entry.jti)", "portcullis.until": "\(expiresAt)"])
                var body = #"{"revoked":{"jti":"#
                JSONValue.writeString(entry.jti, to: &body)
                body += #","expires_at":\#(expiresAt)}}"#
                return AdminResponse(status: 200, body: body)
            case .failure(let error):
                logger.warning("admin revocation failed: \(error)", metadata: ["portcullis.jti": "\(entry.jti)"])
                return .revocationUnavailable
            }
        }
    }

    private func revokeSubject(_ subject: String) -> EventLoopFuture<AdminResponse> {
        guard let revocation = runtime.revocation else {
            return loop.makeSucceededFuture(.revocationUnavailable)
        }
        guard revocation.plugin.capabilities.contains(.subject) else {
            return loop.makeSucceededFuture(
                .error(501, "not_supported", "The blocklist plugin cannot revoke a subject.")
            )
        }
        let window = RevocationWindow.subject(now: Int64(time(nil)), jwt: runtime.config.jwt)
        return revocation.perform(on: loop) { plugin throws(PluginCallError) in
            try plugin.revokeSubject(subject, at: window.at, until: window.until)
        }.map { [logger] result in
            switch result {
            case .success:
                logger.info("admin revoked a subject", metadata: ["portcullis.sub": "\(subject)", "portcullis.until": "\(window.until)"])
                var body = #"{"revoked":{"sub":"#
                JSONValue.writeString(subject, to: &body)
                body += #","issued_at_or_before":\#(window.at),"until":\#(window.until)}}"#
                return AdminResponse(status: 200, body: body)
            case .failure(let error):
                logger.warning("admin subject revocation failed: \(error)")
                return .revocationUnavailable
            }
        }
    }
}
