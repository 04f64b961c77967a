import Testing

@testable import Portcullis

@Suite("Credential parsing")
struct CredentialParserTests {
    @Test("the Bearer scheme is case-insensitive and surrounding spaces are ignored", arguments: [
        "Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER   abc.def.ghi  ", "  Bearer\tabc.def.ghi",
    ])
    func bearer(value: String) {
        #expect(CredentialParser.authorizationHeader(value[...]) == .presented("abc.def.ghi"))
    }

    @Test("another scheme counts as no token", arguments: ["Basic dXNlcjpwYXNz", "Token abc", "Bearerabc", "", "   "])
    func otherScheme(value: String) {
        #expect(CredentialParser.authorizationHeader(value[...]) == .absent)
    }

    @Test("Bearer with nothing after it is a presented, empty token", arguments: ["Bearer", "Bearer   ", "bearer\t"])
    func emptyBearer(value: String) {
        #expect(CredentialParser.authorizationHeader(value[...]) == .presented(""))
    }

    @Test("other headers carry the bare token, with an optional Bearer prefix")
    func bareHeader() {
        #expect(CredentialParser.bareHeader("abc.def.ghi") == .presented("abc.def.ghi"))
        #expect(CredentialParser.bareHeader(" Bearer abc.def.ghi ") == .presented("abc.def.ghi"))
        #expect(CredentialParser.bareHeader("bearer abc") == .presented("abc"))
        #expect(CredentialParser.bareHeader("Bearer") == .presented(""))
        #expect(CredentialParser.bareHeader("") == .absent)
    }

    @Test("a cookie is found among several, with spaces and quotes")
    func cookies() {
        let header = "theme=dark; access_token=abc.def.ghi;refresh_token=\"r.t.x\" ;  other=1"
        #expect(CredentialParser.cookie(named: "access_token", in: header[...]) == .presented("abc.def.ghi"))
        #expect(CredentialParser.cookie(named: "refresh_token", in: header[...]) == .presented("r.t.x"))
        #expect(CredentialParser.cookie(named: "missing", in: header[...]) == .absent)
        #expect(CredentialParser.cookie(named: "token", in: "my_token=a; token=b") == .presented("b"))
        #expect(CredentialParser.cookie(named: "Token", in: "token=b") == .absent)
    }

    @Test("the first cookie of a name wins, and an empty cookie counts as no token")
    func cookieEdgeCases() {
        #expect(CredentialParser.cookie(named: "t", in: "t=first; t=second") == .presented("first"))
        #expect(CredentialParser.cookie(named: "t", in: "t=; u=1") == .absent)
        #expect(CredentialParser.cookie(named: "t", in: ";;t=a=b;") == .presented("a=b"))
        #expect(CredentialParser.cookie(named: "t", in: "") == .absent)
    }
}
