import Portcullis
import PortcullisFuzzSupport

/// Compact JWS parsing and `TokenVerifier` on arbitrary bytes, against the fixture's key set
/// (HS256, RS256, ES256) and its issuer and audience policy.
///
/// Beyond not crashing: a verdict does not depend on the cache (a second lookup answers like
/// the first), and an accepted token came from a configured issuer, for its audience, with an allowed
/// algorithm.
private let verifier = FuzzFixture.makeVerifier()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let token = String(decoding: [UInt8](fuzzInput: data, count: size), as: UTF8.self)
    let uncached = verifier.verify(token, expecting: .access, now: FuzzFixture.now, cache: nil)
    let cache = VerifiedTokenCache()
    for _ in 0..<2 {
        let cached = verifier.verify(token, expecting: .access, now: FuzzFixture.now, cache: cache)
        precondition(verdict(cached) == verdict(uncached), "the cache changed the verdict")
    }
    if case .success(let verified) = uncached {
        precondition([FuzzFixture.issuer, FuzzFixture.otherIssuer].contains(verified.issuer), "accepted a foreign issuer")
        precondition(
            verified.issuer != FuzzFixture.issuer || verified.audiences.contains(FuzzFixture.audience),
            "accepted a token without the issuer's audience")
        precondition([JWTAlgorithm.HS256, .RS256, .ES256].contains(verified.algorithm), "accepted a foreign algorithm")
        _ = AuthPolicy(kind: .access, requireScopes: ["orders:read"], requireClaims: [
            ClaimRequirement(path: ["realm_access", "roles"], value: "admin")
        ]).authorize(verified)
    }
    _ = verifier.verify(token, expecting: .refresh, now: FuzzFixture.now, cache: nil)
    _ = verifier.verifySignatureAndClaims(token)
    return 0
}

/// What a caller can tell apart: the accepted subject and token id, or the failure.
private func verdict(_ result: Result<VerifiedToken, AuthFailure>) -> String {
    switch result {
    case .success(let token): "accepted \(token.subject ?? "-") \(token.revocationID)"
    case .failure(let failure): "refused \(failure)"
    }
}

/// The program's entry point (see `FuzzDriver`).
@_cdecl("FuzzJWT_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
}
