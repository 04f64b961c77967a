import Testing

@testable import Portcullis

@Suite("Path normalization")
struct PathNormalizerTests {
    /// (raw path, normalized path or nil for 400).
    static let cases: [(String, String?)] = [
        // Already canonical.
        ("/", "/"),
        ("/api/x", "/api/x"),
        ("/api/", "/api/"),
        ("/a;b=c/d:e@f!$&'()*+,=", "/a;b=c/d:e@f!$&'()*+,="),
        ("/a[1]", "/a[1]"),
        // Bypass attempts with dot segments and slashes.
        ("/public/../api/x", "/api/x"),
        ("//api/x", "/api/x"),
        ("///api//x//", "/api/x/"),
        ("/%2e%2e/api", nil),
        ("/public/%2e%2e/api/x", "/api/x"),
        ("/public/%2E%2e/api/x", "/api/x"),
        ("/public/.%2e/api/x", "/api/x"),
        ("/a/./b", "/a/b"),
        ("/a/%2e/b", "/a/b"),
        ("/a/b/../../..", nil),
        ("/a/b/../..", "/"),
        ("/..", nil),
        ("/../", nil),
        ("/.", "/"),
        ("/./", "/"),
        ("/a/..", "/"),
        ("/a/b/..", "/a/"),
        ("/a/b/../", "/a/"),
        ("/api/.", "/api/"),
        ("/a/.../b", "/a/.../b"),
        ("/a/..b/c.", "/a/..b/c."),
        ("/public/..;/api/x", nil),
        ("/public/.;x/api", nil),
        ("/a/b;..", "/a/b;.."),
        // Encoded separators and NUL.
        ("/api%2Fx", nil),
        ("/api%2fx", nil),
        ("/api%5cx", nil),
        ("/api%5Cx", nil),
        ("/a%00b", nil),
        ("/a\u{0}b", nil),
        // Percent-decoding of unreserved characters only; other escapes get uppercase hex.
        ("/%41pi", "/Api"),
        ("/%7euser/%2D%5f%30", "/~user/-_0"),
        ("/a%20b", "/a%20b"),
        ("/a%2a", "/a%2A"),
        ("/a%3b%3F%23", "/a%3B%3F%23"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/a%25", "/a%25"),
        ("/a%252e%252e", "/a%252e%252e"),
        // Malformed escapes.
        ("/a%", nil),
        ("/a%4", nil),
        ("/a%zz", nil),
        ("/a%g1/b", nil),
        // Not a path at all.
        ("", nil),
        ("api/x", nil),
        ("./api", nil),
        ("*", nil),
        ("http://example.com/api", nil),
        // Raw bytes RFC 3986 does not allow in a path.
        ("/a b", nil),
        ("/a\\b", nil),
        ("/a\"b", nil),
        ("/a<b>", nil),
        ("/a^b", nil),
        ("/a`b", nil),
        ("/a{b}", nil),
        ("/a|b", nil),
        ("/a#b", nil),
        ("/a\tb", nil),
        ("/a\u{7f}", nil),
        ("/café", nil),
    ]

    @Test("normalizes or refuses each path of the table", arguments: cases)
    func normalizesTable(raw: String, expected: String?) {
        #expect(PathNormalizer.normalize(Array(raw.utf8)) == expected, "raw path \(raw.debugDescription)")
    }

    @Test("refuses every raw control byte and every byte above 0x7F")
    func refusesControlAndHighBytes() {
        for byte in Array(UInt8(0)...0x1F) + Array(UInt8(0x7F)...0xFF) {
            #expect(PathNormalizer.normalize([UInt8(ascii: "/"), byte]) == nil, "byte \(byte)")
        }
    }

    @Test("gives every spelling of a path the same normalized form")
    func spellingsConverge() {
        let spellings = ["/api/x", "//api//x", "/%61pi/x", "/public/../api/x", "/api/./x", "/api/%2E/x", "/api/y/../x"]
        let normalized = Set(spellings.map { PathNormalizer.normalize(Array($0.utf8)) })
        #expect(normalized == ["/api/x"])
    }

    @Test("is idempotent: a normalized path normalizes to itself")
    func idempotent() {
        for (raw, _) in Self.cases {
            guard let once = PathNormalizer.normalize(Array(raw.utf8)) else { continue }
            #expect(PathNormalizer.normalize(Array(once.utf8)) == once, "raw path \(raw.debugDescription)")
        }
    }

    @Test("accepts any byte collection, such as a substring's UTF-8 view")
    func acceptsSubstringBytes() {
        let target = "/v1/../api//items?x=/../y"
        let path = target.utf8.prefix { $0 != UInt8(ascii: "?") }
        #expect(PathNormalizer.normalize(path) == "/api/items")
    }
}
