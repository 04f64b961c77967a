import NIOCore

/// The asynchronous part of `/logout` (SPEC section 4 steps 1-5): both tokens are checked
/// against the blocklist before either is revoked, then each jti is revoked until its own
/// `exp` plus leeway, and with `?all=true` the subject too.
enum LogoutFlow {
    /// What was revoked, for the 200 answer, and the cookies to clear.
    struct Answer: Sendable {
        var revoked: [String]
        var cookiesToClear: [String]

        var body: String {
            "{\"revoked\":[" + revoked.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
        }

        var headers: [(String, String)] {
            cookiesToClear.map { ("Set-Cookie", "\($0)=; Max-Age=0; Path=/") }
        }
    }

    /// Runs on `loop`; the future completes there.
    static func run(
        _ plan: LogoutPlan, runtime: GatewayRuntime, on loop: EventLoop, now: Int64
    ) -> EventLoopFuture<Result<Answer, GatewayError>> {
        guard let revocation = runtime.revocation else {
            return loop.makeSucceededFuture(.failure(.revocationUnavailable))
        }
        return checked(plan.access, revocation, loop).flatMap { refusal -> EventLoopFuture<GatewayError?> in
            if let refusal { return loop.makeSucceededFuture(refusal) }
            guard let refresh = plan.refresh else { return loop.makeSucceededFuture(nil) }
            return checked(refresh, revocation, loop)
        }.flatMap { refusal -> EventLoopFuture<Result<Answer, GatewayError>> in
            if let refusal { return loop.makeSucceededFuture(.failure(refusal)) }
            if plan.everywhere, !revocation.plugin.capabilities.contains(.subject) {
                return loop.makeSucceededFuture(.failure(.notSupported))
            }
            return revoke(plan, revocation: revocation, jwt: runtime.config.jwt, on: loop, now: now)
        }
    }

    /// nil when `token` is not revoked. A blocklist that cannot answer is 503 whatever
    /// `on_error` says: logging out needs it anyway.
    private static func checked(
        _ token: VerifiedToken, _ revocation: RevocationService, _ loop: EventLoop
    ) -> EventLoopFuture<GatewayError?> {
        let outcome: EventLoopFuture<RevocationService.Outcome>
        switch revocation.check(token.revocationToken, on: loop) {
        case .done(let done): outcome = loop.makeSucceededFuture(done)
        case .pending(let pending): outcome = pending
        }
        return outcome.map { outcome in
            switch outcome {
            case .notRevoked: return nil
            case .revoked: return .tokenRevoked
            case .failed: return .revocationUnavailable
            }
        }
    }

    private static func revoke(
        _ plan: LogoutPlan, revocation: RevocationService, jwt: JWTSettings, on loop: EventLoop, now: Int64
    ) -> EventLoopFuture<Result<Answer, GatewayError>> {
        let access = RevocationWindow.entry(for: plan.access, jwt: jwt)
        let refresh = plan.refresh.map { RevocationWindow.entry(for: $0, jwt: jwt) }
        let subject = plan.everywhere ? plan.access.subject : nil
        let window = RevocationWindow.subject(now: now, jwt: jwt)
        let cookies = plan.cookiesToClear
        return revocation.perform(on: loop) { plugin throws(PluginCallError) -> [String] in
            var revoked = ["access"]
            try plugin.revoke(access)
            if let refresh {
                try plugin.revoke(refresh)
                revoked.append("refresh")
            }
            if let subject {
                try plugin.revokeSubject(subject, at: window.at, until: window.until)
                revoked.append("subject")
            }
            return revoked
        }.map { result in
            switch result {
            case .success(let revoked): return .success(Answer(revoked: revoked, cookiesToClear: cookies))
            case .failure: return .failure(.revocationUnavailable)
            }
        }
    }
}
