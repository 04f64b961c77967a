import Crypto
/// Verifies JWTs against `jwt` settings: signature, issuer, audience, claims, time and type.
///
/// Built once per config and shared by every event loop: it is immutable apart from the
/// remote key sets, which are swapped atomically (see ``IssuerKeySet``). Verification never
/// blocks, never hops to another executor and takes no lock on the cached path.
public final class TokenVerifier: Sendable {
    struct Issuer: Sendable {
        var name: String
        /// `nil` (or an empty list in the config): `aud` is not checked.
        var audiences: Set<String>?
        var algorithms: Set<JWTAlgorithm>
        var keys: IssuerKeySet
    }

    private let issuers: [String: Issuer]
    private let required: [String]
    private let leeway: Int64
    private let maxLifetime: Int64
    private let typeClaim: String
    private let generation = KeyGeneration()
    /// Tells caches apart across reloads: a cache filled by another verifier is cleared.
    let instanceID = UInt64.random(in: 1...UInt64.max)

    /// Parses every key source; all problems are reported together, each at its source's position.
    public init(settings: JWTSettings) throws(ConfigErrors) {
        var errors: [ConfigError] = []
        var issuers: [String: Issuer] = [:]
        for issuer in settings.issuers {
            var keys: [VerificationKey] = []
            var hasRemote = false
            for source in issuer.keys {
                if case .jwksURL = source.kind { hasRemote = true }
                do throws(ConfigError) {
                    keys += try KeySourceLoader.verificationKeys(for: source)
                } catch {
                    errors.append(error)
                }
            }
            if issuer.keys.isEmpty { errors.append(ConfigError("issuer \(issuer.issuer) has no keys", at: issuer.location)) }
            guard issuers[issuer.issuer] == nil else {
                errors.append(ConfigError("issuer \(issuer.issuer) is listed twice", at: issuer.location))
                continue
            }
            let audiences = issuer.audiences.flatMap { $0.isEmpty ? nil : Set($0) }
            issuers[issuer.issuer] = Issuer(
                name: issuer.issuer, audiences: audiences, algorithms: Set(issuer.algorithms),
                keys: IssuerKeySet(staticKeys: keys, hasRemoteSource: hasRemote, generation: generation))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        self.issuers = issuers
        self.required = settings.require
        self.leeway = settings.leeway.wholeSeconds
        self.maxLifetime = settings.maxLifetime.wholeSeconds
        self.typeClaim = settings.tokenTypeClaim
    }

    /// Changes whenever a remote key set is replaced; caches compare it to drop stale verdicts.
    public var keyGeneration: UInt64 { generation.current }

    /// Issuers for which no key can be had yet (their `jwks_url` was never fetched): readiness.
    public var issuersAwaitingKeys: [String] {
        issuers.values.filter { !$0.keys.hasKeys }.map(\.name).sorted()
    }

    /// Installs a freshly fetched JWKS for `issuer` (the seam for the remote fetcher).
    /// Returns false when no such issuer has a `jwks_url` source.
    @discardableResult
    public func replaceRemoteKeys(forIssuer issuer: String, with keys: [VerificationKey]) -> Bool {
        guard let entry = issuers[issuer], entry.keys.hasRemoteSource else { return false }
        entry.keys.replaceRemoteKeys(keys)
        return true
    }

    /// Calls `observer` whenever a token of `issuer` names a `kid` (or algorithm) that none of
    /// its keys has, so the remote fetcher can refetch. The observer runs on the verifying
    /// event loop and must return at once. Returns false when no such issuer has a `jwks_url`.
    @discardableResult
    public func observeUnknownKeyIDs(forIssuer issuer: String, _ observer: @escaping @Sendable () -> Void) -> Bool {
        guard let entry = issuers[issuer], entry.keys.hasRemoteSource else { return false }
        entry.keys.observeUnknownKeyIDs(observer)
        return true
    }

    /// Full check in SPEC §3 order: format and signature, `iss`/`aud`/required claims, time
    /// (`exp`, `nbf`, `iat`, lifetime), then type.
    ///
    /// - Parameters:
    ///   - now: Unix seconds.
    ///   - cache: the calling event loop's cache; a hit skips the signature and claim checks,
    ///     never the time and type checks.
    public func verify(
        _ token: String, expecting type: TokenType, now: Int64, cache: VerifiedTokenCache?
    ) -> Result<VerifiedToken, AuthFailure> {
        let verified: VerifiedToken
        if let cache, let hit = cache.lookup(token, verifier: instanceID, generation: generation.current) {
            verified = hit
        } else {
            let generationBefore = generation.current
            switch verifySignatureAndClaims(token) {
            case .failure(let failure): return .failure(failure)
            case .success(let token): verified = token
            }
            cache?.insert(token, verified, verifier: instanceID, generation: generationBefore)
        }
        if let failure = checkTime(verified, now: now) ?? checkType(verified, expecting: type) {
            return .failure(failure)
        }
        return .success(verified)
    }

    /// Signature, issuer, audience and required claims only: no time or type check, no cache.
    /// For callers that accept expired tokens (admin revocation).
    public func verifySignatureAndClaims(_ token: String) -> Result<VerifiedToken, AuthFailure> {
        do throws(AuthFailure) {
            return .success(try verifyUncached(Array(token.utf8)))
        } catch {
            return .failure(error)
        }
    }

    private func verifyUncached(_ bytes: [UInt8]) throws(AuthFailure) -> VerifiedToken {
        let jws = try CompactJWS.parse(bytes).get()
        guard case .string(let algName)? = jws.header["alg"] else {
            throw .invalid("the token header has no algorithm")
        }
        guard algName.lowercased() != "none" else { throw .invalid("unsigned tokens are not accepted") }
        guard let algorithm = JWTAlgorithm(rawValue: algName) else {
            throw .invalid("the token algorithm is not supported")
        }
        guard jws.header["crit"] == nil else {
            throw .invalid("the token has critical header parameters, which are not supported")
        }
        var keyID: String?
        if let kid = jws.header["kid"] {
            guard let value = kid.stringValue else { throw .invalid("the token key id is not a string") }
            keyID = value
        }
        guard let iss = jws.payload["iss"] else { throw .invalid("the token has no issuer") }
        guard let issName = iss.stringValue, let issuer = issuers[issName] else {
            throw .invalid("the token issuer is not accepted")
        }
        guard issuer.algorithms.contains(algorithm) else {
            throw .invalid("the token algorithm is not allowed for its issuer")
        }
        switch issuer.keys.select(keyID: keyID, algorithm: algorithm) {
        case .unavailable:
            throw AuthFailure(.keysUnavailable, "no signing keys are available yet for the token issuer")
        case .unknownKeyID:
            issuer.keys.reportMissingKey()
            throw .invalid("the token key id is unknown")
        case .noKeyForAlgorithm:
            issuer.keys.reportMissingKey()
            throw .invalid("no key of the token issuer accepts its algorithm")
        case .keys(let candidates):
            guard candidates.contains(where: { $0.isValidSignature(jws.signature, for: jws.signingInput, algorithm: algorithm) })
            else {
                // Keys named by the `kid` come first: if the first is not one, none is.
                if let keyID, candidates.first?.keyID != keyID { issuer.keys.reportMissingKey() }
                throw .invalid("the token signature is invalid")
            }
        }
        var token = try VerifiedToken.decode(
            payload: jws.payload, issuer: issuer.name, algorithm: algorithm, keyID: keyID, typeClaim: typeClaim)
        if token.jti == nil || token.revocationID.isEmpty {
            token.revocationID = "sha256:" + Base64URL.encode(Array(SHA256.hash(data: bytes)))
        }
        if let audiences = issuer.audiences, !token.audiences.contains(where: audiences.contains) {
            throw .invalid("the token audience is not accepted")
        }
        for claim in required {
            guard let value = jws.payload[claim], value != .null else {
                throw .invalid("the token lacks the required claim `\(claim)`")
            }
        }
        return token
    }

    private func checkTime(_ token: VerifiedToken, now: Int64) -> AuthFailure? {
        let latest = now.saturatingAdd(leeway)
        if let exp = token.expiresAt, now >= exp.saturatingAdd(leeway) {
            return AuthFailure(.tokenExpired, "the token has expired")
        }
        if let nbf = token.notBefore, nbf > latest {
            return AuthFailure(.tokenNotYetValid, "the token is not valid yet")
        }
        if let iat = token.issuedAt {
            if iat > latest { return .invalid("the token was issued in the future") }
            if let exp = token.expiresAt {
                let (lifetime, overflow) = exp.subtractingReportingOverflow(iat)
                if overflow || lifetime > maxLifetime { return .invalid("the token lifetime exceeds the allowed maximum") }
            }
        }
        return nil
    }

    private func checkType(_ token: VerifiedToken, expecting type: TokenType) -> AuthFailure? {
        guard token.typeIsRecognised else { return AuthFailure(.wrongTokenType, "the token type is not recognised") }
        guard token.type == type else {
            return AuthFailure(.wrongTokenType, "\(type.withArticle.capitalizedFirst) token is needed, not \(token.type.withArticle) token")
        }
        return nil
    }
}

extension Int64 {
    fileprivate func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension TokenType {
    fileprivate var withArticle: String { self == .access ? "an access" : "a refresh" }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension Duration {
    /// Whole seconds, rounded down.
    var wholeSeconds: Int64 { components.seconds }
}
