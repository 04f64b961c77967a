import NIOCore

/// What `POST /logout` will revoke, once both tokens have verified (SPEC section 4).
struct LogoutPlan: Sendable {
    var access: VerifiedToken
    var refresh: VerifiedToken?
    /// `?all=true`: also revoke the subject ("log out everywhere").
    var everywhere: Bool
    /// Cookies that carried a token, cleared in the response.
    var cookiesToClear: [String]
}

/// The synchronous part of `/logout`: finding and verifying both tokens. Pure, like
/// `RequestDecision`; the revocation checks and the revocations come after (`LogoutFlow`).
enum LogoutRequest {
    /// A `json_body` refresh token is read from at most this much body.
    static let maxBodyBytes = 64 * 1024

    private static let contentTypeName = Array("content-type".utf8)

    /// `?all=true` in the query string.
    static func wantsEverywhere(_ head: RequestHead) -> Bool {
        guard !head.query.isEmpty else { return false }
        var query = Substring(head.string(head.query))
        if query.first == "?" { query = query.dropFirst() }
        return query.split(separator: "&").contains("all=true")
    }

    /// Verifies the access token as an `auth: access` route would, then the refresh token if
    /// one is presented: type `refresh`, the same `sub`. Nothing is revoked here.
    static func plan(
        _ head: RequestHead, body: [UInt8], runtime: GatewayRuntime, cache: VerifiedTokenCache?, now: Int64
    ) -> Result<LogoutPlan, GatewayError> {
        guard let (accessToken, accessSource) = RequestDecision.credential(in: head, locations: runtime.logoutAccessSources)
        else {
            return .failure(GatewayError(AuthFailure(.missingToken, "A bearer token is required."), tokenPresented: false))
        }
        let access: VerifiedToken
        switch runtime.verifier.verify(accessToken, expecting: .access, now: now, cache: cache) {
        case .failure(let failure): return .failure(GatewayError(failure, tokenPresented: true))
        case .success(let verified): access = verified
        }
        var plan = LogoutPlan(access: access, refresh: nil, everywhere: wantsEverywhere(head), cookiesToClear: [])
        if case .cookie(let name) = accessSource { plan.cookiesToClear.append(name) }
        if plan.everywhere, access.subject == nil {
            return .failure(.badRequest("The access token has no subject to log out everywhere."))
        }
        switch refreshCredential(head, body: body, runtime: runtime) {
        case nil:
            if runtime.config.logout?.requireRefresh == true {
                return .failure(.badRequest("A refresh token is required to log out."))
            }
        case (let token, let cookie)?:
            switch runtime.verifier.verify(token, expecting: .refresh, now: now, cache: cache) {
            case .failure(let failure) where failure.code == .keysUnavailable:
                return .failure(GatewayError(failure, tokenPresented: true))
            case .failure(let failure):
                return .failure(GatewayError(.invalid("The refresh token is not valid: \(failure.message)"), tokenPresented: true))
            case .success(let refresh):
                guard refresh.subject == access.subject else {
                    return .failure(
                        GatewayError(.invalid("The refresh token belongs to another subject."), tokenPresented: true)
                    )
                }
                plan.refresh = refresh
                if let cookie { plan.cookiesToClear.append(cookie) }
            }
        }
        return .success(plan)
    }

    /// The first refresh token found in `jwt.refresh_token` order, and the cookie it came
    /// from (if it came from one).
    private static func refreshCredential(
        _ head: RequestHead, body: [UInt8], runtime: GatewayRuntime
    ) -> (token: String, cookie: String?)? {
        for location in runtime.logoutRefreshLocations {
            switch location {
            case .header, .cookie:
                guard let (token, source) = RequestDecision.credential(in: head, locations: CredentialLocation.compile([location]))
                else { continue }
                if case .cookie(let name) = source { return (token, name) }
                return (token, nil)
            case .jsonBody(let field):
                guard isJSON(head), case .string(let token)? = JSONValue.parse(body)?[field], !token.isEmpty else { continue }
                return (token, nil)
            }
        }
        return nil
    }

    /// `application/json` or any `+json` media type.
    private static func isJSON(_ head: RequestHead) -> Bool {
        guard let field = head.field(named: contentTypeName) else { return false }
        let media = head.string(field.value).split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return media == "application/json" || media.hasSuffix("+json")
    }
}
