import NIOCore

/// Where a request's credential was found, so `forward_token: false` can remove it.
enum CredentialSource: Equatable, Sendable {
    case header(lowercasedName: [UInt8])
    case cookie(name: String)
}

/// What the gateway does with an authorized request.
package struct ForwardPlan: Sendable {
    package var routeIndex: Int
    var upstreamPath: String
    var token: VerifiedToken?
    var credentialSource: CredentialSource?
}

/// The synchronous part of the decision for one request head, in SPEC order: path, route,
/// token presence, verification, type, policy, body size. Pure: no channel, no I/O, so it is
/// tested without sockets. (The revocation check comes after it and may be asynchronous.)
package enum RequestDecision {
    package enum Outcome {
        /// `routeIndex` is the matched route when the refusal came after routing (metrics and
        /// the access log name it).
        case reject(GatewayError, routeIndex: Int? = nil)
        case forward(ForwardPlan)
        /// `POST <logout.path>`: answered by the gateway (`LogoutRequest`, `LogoutFlow`).
        case logout
    }

    /// `path` is the head's path as `PathNormalizer` normalized it (`nil`: refused), computed
    /// once by the caller, which also logs it.
    package static func decide(
        _ head: RequestHead, path: String?, runtime: GatewayRuntime, cache: VerifiedTokenCache?, now: Int64
    ) -> Outcome {
        guard let path else {
            return .reject(.badRequest("The request path is not acceptable."))
        }
        let host = head.field(.host).map { Substring(head.string($0.value)) }
        let method = Substring(head.string(head.method))
        // `/logout` is answered before the route table is consulted (SPEC section 4).
        if let logout = runtime.config.logout, path == logout.path {
            return method == "POST" ? .logout : .reject(.methodNotAllowed(allow: "POST"))
        }
        let routeIndex: Int
        switch runtime.routeTable.match(path: path, host: host, method: method) {
        case .notFound: return .reject(.notFound)
        case .methodNotAllowed(let allow): return .reject(.methodNotAllowed(allow: allow))
        case .route(let index): routeIndex = index
        }
        let route = runtime.routes[routeIndex]
        let upstream = runtime.upstreams[route.upstreamIndex]
        var plan = ForwardPlan(
            routeIndex: routeIndex,
            upstreamPath: RouteTable.upstreamPath(
                for: route.settings, normalizedPath: path, basePath: upstream.settings.basePath
            ),
            token: nil, credentialSource: nil
        )
        let policy = route.settings.auth
        if policy.kind != .none {
            guard let (token, source) = credential(in: head, locations: route.credentialSources) else {
                return .reject(
                    GatewayError(AuthFailure(.missingToken, "A bearer token is required."), tokenPresented: false),
                    routeIndex: routeIndex
                )
            }
            let expected: TokenType = policy.kind == .refresh ? .refresh : .access
            switch runtime.verifier.verify(token, expecting: expected, now: now, cache: cache) {
            case .failure(let failure):
                return .reject(GatewayError(failure, tokenPresented: true), routeIndex: routeIndex)
            case .success(let verified):
                if let failure = policy.authorize(verified) {
                    return .reject(GatewayError(failure, tokenPresented: true), routeIndex: routeIndex)
                }
                plan.token = verified
                plan.credentialSource = source
            }
        }
        let maxBody = runtime.config.server.maxBodyBytes
        if maxBody > 0, case .contentLength(let length) = head.framing, length > maxBody {
            return .reject(.payloadTooLarge, routeIndex: routeIndex)
        }
        return .forward(plan)
    }

    private static let authorizationName = Array("authorization".utf8)

    /// The first credential found in `locations`, in order. A header that is present but
    /// carries another scheme (e.g. `Basic`) counts as no token there.
    static func credential(in head: RequestHead, locations: [CredentialLocation]) -> (String, CredentialSource)? {
        for location in locations {
            switch location {
            case .authorization:
                guard let field = head.field(.authorization) else { continue }
                if case .presented(let token) = CredentialParser.authorizationHeader(Substring(head.string(field.value))) {
                    return (token, .header(lowercasedName: authorizationName))
                }
            case .header(let lowercased):
                guard let field = head.field(named: lowercased) else { continue }
                if case .presented(let token) = CredentialParser.bareHeader(Substring(head.string(field.value))) {
                    return (token, .header(lowercasedName: lowercased))
                }
            case .cookie(let name):
                for field in head.fields where field.kind == .cookie {
                    let credential = CredentialParser.cookie(named: name, in: Substring(head.string(field.value)))
                    if case .presented(let token) = credential { return (token, .cookie(name: name)) }
                }
            }
        }
        return nil
    }
}
