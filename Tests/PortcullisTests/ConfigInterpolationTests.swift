import Testing

@testable import Portcullis

@Suite("Config loader: ${VAR} interpolation")
struct ConfigInterpolationTests {
    private func expand(_ text: String, _ environment: [String: String] = [:]) -> Result<String, EnvironmentInterpolation.Failure> {
        EnvironmentInterpolation.expand(text, environment: environment)
    }

    @Test("a set variable is substituted, also inside other text")
    func setVariable() {
        #expect(expand("${HOST}", ["HOST": "example.com"]) == .success("example.com"))
        #expect(expand("https://${HOST}:${PORT}/x", ["HOST": "h", "PORT": "1"]) == .success("https://h:1/x"))
    }

    @Test("a default is used only when the variable is unset or empty")
    func defaults() {
        #expect(expand("${PORT:-8080}", ["PORT": "9000"]) == .success("9000"))
        #expect(expand("${PORT:-8080}") == .success("8080"))
        #expect(expand("${PORT:-8080}", ["PORT": ""]) == .success("8080"))
        #expect(expand("${EMPTY:-}") == .success(""))
        #expect(expand("${URL:-http://a:1/b}") == .success("http://a:1/b"))
    }

    @Test("an unset variable without a default is a failure naming it")
    func unset() {
        #expect(expand("x${SECRET}y") == .failure(.unsetVariable("SECRET")))
        #expect(expand("${SET}", ["SET": ""]) == .success(""))
    }

    @Test("$$ is a literal dollar and a lone $ is kept")
    func dollars() {
        #expect(expand("pa$$word") == .success("pa$word"))
        #expect(expand("$${NOT_A_VAR}") == .success("${NOT_A_VAR}"))
        #expect(expand("cost: 5$ or $x") == .success("cost: 5$ or $x"))
        #expect(expand("end$") == .success("end$"))
    }

    @Test("an unterminated reference or a bad name is a failure")
    func malformed() {
        #expect(expand("${OPEN") == .failure(.unterminated))
        #expect(expand("${1ABC}") == .failure(.invalidName("1ABC")))
        #expect(expand("${}") == .failure(.invalidName("")))
    }

    @Test("an interpolated scalar is typed by the schema")
    func typedAfterInterpolation() throws {
        let yaml = ConfigFixture.minimal + """
            server:
              listen: ${HOST:-127.0.0.1}:${PORT}
              max_header_bytes: "${MAX_HEADER}"
              idle_timeout: ${IDLE:-45s}
            log:
              access_log: ${ACCESS_LOG}
            blocklist:
              config:
                pool: ${POOL}
                password: "${PASSWORD}"
                dollar: a$$b

            """
        let environment = ["PORT": "9090", "MAX_HEADER": "20000", "ACCESS_LOG": "FALSE", "POOL": "4", "PASSWORD": "123"]
        let config = try ConfigFixture.parse(yaml, environment: environment)
        #expect(config.server.listen == ListenAddress(host: "127.0.0.1", port: 9090))
        #expect(config.server.maxHeaderBytes == 20000)
        #expect(config.server.idleTimeout == .seconds(45))
        #expect(config.log.accessLog == false)
        #expect(config.blocklist.config == .object(["pool": 4, "password": "123", "dollar": "a$b"]))
    }

    @Test("an interpolated value of the wrong type is reported with the substituted text")
    func wrongTypeAfterInterpolation() {
        let errors = ConfigFixture.errors(ConfigFixture.minimal + "server:\n  max_connections: ${MAX}\n", environment: ["MAX": "lots"])
        #expect(errors.map(\.message) == [#"server.max_connections: expected an integer, got "lots""#])
    }

    @Test("keys are not interpolated")
    func keysAreLiteral() {
        let errors = ConfigFixture.errors(ConfigFixture.minimal + "server:\n  ${KEY}: 1\n", environment: ["KEY": "workers"])
        #expect(errors.map(\.message) == ["unknown key '${KEY}' in server"])
    }

    @Test("every unset variable is reported, not only the first")
    func allUnsetReported() {
        let yaml = ConfigFixture.minimal + "admin:\n  listen: ${ADMIN_LISTEN}\n  token: ${ADMIN_TOKEN}\n"
        let messages = ConfigFixture.errors(yaml).map(\.message)
        #expect(messages.count == 2)
        #expect(messages.first?.contains("'ADMIN_LISTEN'") == true)
        #expect(messages.last?.contains("'ADMIN_TOKEN'") == true)
    }
}

@Suite("Config loader: references inside flow collections")
struct ConfigFlowInterpolationTests {
    @Test("interpolates a reference inside a flow sequence and keeps later positions exact")
    func flowSequenceReference() throws {
        let yaml = """
            jwt:
              issuers:
                - issuer: https://a
                  algorithms: [${ALG}, ${OTHER:-ES256}]
                  keys:
                    - secret: s
            bogus: 1
            """
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: "f.yaml", directory: "/", environment: ["ALG": "RS256"])
            Issue.record("the unknown key must be reported")
        } catch {
            #expect(error.errors.map(\.description) == ["f.yaml:7:1: unknown key 'bogus' at the top level"] || error.errors.count == 1)
            #expect(error.errors.first?.location?.line == 7 && error.errors.first?.location?.column == 1)
        }
        var good = yaml
        good.removeLast("\nbogus: 1".count)
        let config = try ConfigLoader.parse(yaml: good, file: "f.yaml", directory: "/", environment: ["ALG": "RS256"])
        #expect(config.jwt.issuers[0].algorithms == [.RS256, .ES256])
    }
}
