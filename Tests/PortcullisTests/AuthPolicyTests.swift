import Testing

@testable import Portcullis

@Suite("Route policy: scopes and claims")
struct AuthPolicyTests {
    func token(_ claims: [String: JSONValue]) -> VerifiedToken {
        VerifiedToken(issuer: AuthTest.issuer, claims: claims)
    }

    @Test("required scopes are read from a space-separated scope claim")
    func scopeString() {
        let policy = AuthPolicy(kind: .access, requireScopes: ["orders:read", "orders:write"])
        #expect(policy.authorize(token(["scope": "profile orders:write  orders:read"])) == nil)
        #expect(policy.authorize(token(["scope": "orders:read"])) == AuthFailure(.insufficientScope, "the token lacks the scope orders:write"))
        #expect(policy.authorize(token(["scope": "orders:reader orders:write"]))?.code == .insufficientScope)
    }

    @Test("required scopes are read from an scp array, or an scp string")
    func scpArray() {
        let policy = AuthPolicy(kind: .access, requireScopes: ["admin"])
        #expect(policy.authorize(token(["scp": .array(["read", "admin"])])) == nil)
        #expect(policy.authorize(token(["scp": "read admin"])) == nil)
        #expect(policy.authorize(token(["scp": .array(["read"])]))?.code == .insufficientScope)
        #expect(policy.authorize(token(["scope": "read", "scp": .array(["admin"])])) == nil)
        #expect(policy.authorize(token([:]))?.code == .insufficientScope)
    }

    @Test("a dotted claim path matches an equal value or an array containing it")
    func claimPaths() {
        let policy = AuthPolicy(
            kind: .access, requireClaims: [ClaimRequirement(path: ["realm_access", "roles"], value: "admin")])
        #expect(policy.authorize(token(["realm_access": .object(["roles": .array(["user", "admin"])])])) == nil)
        #expect(policy.authorize(token(["realm_access": .object(["roles": "admin"])])) == nil)
        #expect(
            policy.authorize(token(["realm_access": .object(["roles": .array(["user"])])]))
                == AuthFailure(.insufficientScope, "the token claim realm_access.roles does not have the required value"))
        #expect(policy.authorize(token(["realm_access": "admin"]))?.code == .insufficientScope)
        #expect(policy.authorize(token(["roles": "admin"]))?.code == .insufficientScope)
    }

    @Test("claim requirements compare JSON values exactly and all must hold")
    func claimValues() {
        let policy = AuthPolicy(kind: .access, requireClaims: [
            ClaimRequirement(path: ["level"], value: 3), ClaimRequirement(path: ["verified"], value: true),
        ])
        #expect(policy.authorize(token(["level": 3, "verified": true])) == nil)
        #expect(policy.authorize(token(["level": "3", "verified": true]))?.code == .insufficientScope)
        #expect(policy.authorize(token(["level": 3]))?.code == .insufficientScope)
    }

    @Test("a claim whose name contains dots is found by its full name")
    func namespacedClaim() {
        let policy = AuthPolicy(kind: .access, requireClaims: [ClaimRequirement(path: ["https://example", "com/roles"], value: "ops")])
        #expect(policy.authorize(token(["https://example.com/roles": .array(["ops"])])) == nil)
        #expect(policy.authorize(token(["https://example.com/roles": .array(["dev"])]))?.code == .insufficientScope)
    }

    @Test("a policy without requirements authorizes any verified token")
    func empty() {
        #expect(AuthPolicy(kind: .access).authorize(token([:])) == nil)
    }
}
