import Testing

@testable import Portcullis

@Suite("Config loader: error positions")
struct ConfigErrorPositionTests {
    typealias Fixture = ConfigFixture

    /// The single error `yaml` produces; records an issue when there is not exactly one.
    private func onlyError(_ yaml: String, environment: [String: String] = [:]) -> ConfigError? {
        let errors = Fixture.errors(yaml, environment: environment)
        #expect(errors.count == 1, "\(errors)")
        return errors.first
    }

    @Test("an unknown key is reported at the key, with a suggestion")
    func unknownKey() {
        let error = onlyError(Fixture.minimal + "server:\n  listne: 127.0.0.1:8080\n")
        #expect(error?.description == "gateway.yaml:15:3: unknown key 'listne' in server (did you mean 'listen'?)")
    }

    @Test("an unknown top-level key is reported at the key")
    func unknownTopLevelKey() {
        let error = onlyError(Fixture.minimal + "\nrouts: []\n")
        #expect(error?.message.hasPrefix("unknown key 'routs'") == true)
        #expect(Fixture.position(error) == [15, 1])
    }

    @Test("a wrong type is reported at the value")
    func wrongType() {
        let error = onlyError(Fixture.minimal + "server:\n  max_header_bytes: abc\n")
        #expect(error?.description == #"gateway.yaml:15:21: server.max_header_bytes: expected an integer, got "abc""#)
    }

    @Test("a mapping where a scalar is expected is reported at the mapping")
    func mappingForScalar() {
        let error = onlyError(Fixture.minimal + "server:\n  listen:\n    host: x\n")
        #expect(error?.message == "server.listen: expected host:port, got a mapping")
        #expect(Fixture.position(error) == [16, 5])
    }

    @Test("an undefined upstream is reported at the upstream value")
    func undefinedUpstream() {
        let yaml = Fixture.prelude + """
            routes:
              - name: api
                path_prefix: /api/
                upstream: ordrs

            """
        let error = onlyError(yaml)
        #expect(error?.description == "gateway.yaml:13:15: routes[0].upstream: undefined upstream 'ordrs' (did you mean 'orders'?)")
    }

    @Test("a duplicate route name is reported at the second name, citing the first")
    func duplicateRouteName() {
        let yaml = Fixture.prelude + """
            routes:
              - name: api
                path: /a
                upstream: orders
              - name: api
                path: /b
                upstream: orders

            """
        let error = onlyError(yaml)
        #expect(error?.description == "gateway.yaml:14:11: routes[1].name: duplicate route name 'api' (first at line 11)")
    }

    @Test("algorithm none is refused at the list element")
    func noneAlgorithm() {
        let yaml = """
            jwt:
              issuers:
                - issuer: https://a.example.com
                  algorithms: [RS256, none]
                  keys:
                    - secret: x

            """
        let error = onlyError(yaml)
        #expect(error?.description == "gateway.yaml:4:27: jwt.issuers[0].algorithms[1]: algorithm 'none' is never accepted")
    }

    @Test("path and path_prefix together are reported at the second one")
    func pathAndPrefix() {
        let yaml = Fixture.prelude + """
            routes:
              - name: api
                path: /a
                path_prefix: /b
                upstream: orders

            """
        let error = onlyError(yaml)
        #expect(error?.description == "gateway.yaml:13:18: routes[0].path_prefix: use either 'path' or 'path_prefix', not both")
    }

    @Test("a bad duration is reported at the value")
    func badDuration() {
        let error = onlyError(Fixture.minimal + "server:\n  idle_timeout: 5 minutes\n")
        #expect(error?.message.hasPrefix(#"server.idle_timeout: expected a duration"#) == true)
        #expect(Fixture.position(error) == [15, 17])
    }

    @Test("an unset environment variable is named, at the scalar")
    func unsetVariable() {
        let yaml = Fixture.minimal + "admin:\n  listen: 127.0.0.1:9901\n  token: ${ADMIN_TOKEN}\n"
        let error = onlyError(yaml)
        #expect(error?.message.hasPrefix("admin.token: environment variable 'ADMIN_TOKEN' is not set") == true)
        #expect(Fixture.position(error) == [16, 10])
    }

    @Test("a YAML syntax error is reported where the parser stopped")
    func syntaxError() {
        let error = onlyError("server:\n  listen: a\n workers: 2\n")
        #expect(error?.message.hasPrefix("invalid YAML: did not find expected key") == true)
        #expect(Fixture.position(error) == [3, 2])
    }

    @Test("a repeated key is reported at the repetition")
    func duplicateKey() {
        let error = onlyError(Fixture.minimal + "server:\n  listen: a:1\n  workers: 2\n  listen: b:2\n")
        #expect(error?.message == "duplicate key 'listen' (first at line 15)")
        #expect(Fixture.position(error) == [17, 3])
    }

    @Test("a merge key is refused with a specific message")
    func mergeKey() {
        let error = onlyError(Fixture.minimal + "server:\n  <<: {listen: a:1}\n")
        #expect(error?.message == "YAML merge keys ('<<') are not supported; write the keys out")
        #expect(Fixture.position(error) == [15, 3])
    }

    @Test("an empty document is an error")
    func emptyDocument() {
        for yaml in ["", "# only a comment\n", "~\n"] {
            let error = onlyError(yaml)
            #expect(error?.message == "the config is empty")
            #expect(Fixture.position(error) == [1, 1])
        }
    }

    @Test("an unknown key, a wrong type and an undefined upstream are all reported in one run, in file order")
    func threeErrors() {
        let yaml = """
            server:
              listne: 127.0.0.1:8080
              workers: many
            jwt:
              issuers:
                - issuer: https://auth.example.com
                  algorithms: [HS256]
                  keys:
                    - secret: s3cret
            upstreams:
              orders:
                url: http://127.0.0.1:9000
            routes:
              - name: api
                path_prefix: /api/
                upstream: ordrs

            """
        let errors = Fixture.errors(yaml)
        #expect(errors.map(\.location?.line) == [2, 3, 16])
        #expect(errors.map(\.location?.column) == [3, 12, 15])
        #expect(errors.count == 3)
        #expect(errors.first?.message.hasPrefix("unknown key 'listne' in server") == true)
        #expect(errors.dropFirst().first?.message.hasPrefix("server.workers: expected") == true)
        #expect(errors.last?.message.hasPrefix("routes[0].upstream: undefined upstream 'ordrs'") == true)
    }

    @Test("errors render as FILE:LINE:COLUMN: message, one per line")
    func rendering() {
        do {
            _ = try Fixture.parse(Fixture.minimal + "log:\n  level: loud\n  format: xml\n")
            Issue.record("expected errors")
        } catch {
            #expect(
                error.description == """
                    gateway.yaml:15:10: log.level: expected one of trace, debug, info, warning, error, got "loud"
                    gateway.yaml:16:11: log.format: expected one of json, text, got "xml"
                    """)
        }
    }
}
