import NIOCore
import NIOSSL

/// The TLS contexts of one runtime: the listener's (`server.tls`) and one client context per
/// https upstream.
///
/// Built from the PEM files every time a runtime is built (start and every reload), so a reload
/// picks up rotated files; connections opened before keep the context they were made with.
/// Reads files and parses certificates: call `load` off the event loops.
struct RuntimeTLS: Sendable {
    /// `nil` without `server.tls`: the listener speaks plain HTTP.
    var listener: NIOSSLContext?
    /// By upstream name; https upstreams only.
    var upstreams: [String: UpstreamTLS]

    static let none = RuntimeTLS(listener: nil, upstreams: [:])

    /// Every problem is reported at the config value that names the file.
    static func load(_ config: GatewayConfig) throws(ConfigErrors) -> RuntimeTLS {
        var errors: [ConfigError] = []
        var tls = RuntimeTLS.none
        do throws(ConfigError) {
            tls.listener = try config.server.tls.map(serverContext)
        } catch {
            errors.append(error)
        }
        // One context for every upstream that trusts the system store, read once per runtime.
        var systemTrust: Result<NIOSSLContext, ConfigError>?
        for upstream in config.upstreams where upstream.scheme == .https {
            do throws(ConfigError) {
                let context: NIOSSLContext
                if let caFile = upstream.caFile {
                    context = try clientContext(trusting: .certificates(try certificates(
                        at: caFile, location: upstream.caFileLocation, key: "upstreams.\(upstream.name).ca_file"
                    )))
                } else {
                    let shared = systemTrust ?? Result { () throws(ConfigError) in try clientContext(trusting: systemTrustRoots()) }
                    systemTrust = shared
                    context = try shared.get()
                }
                tls.upstreams[upstream.name] = UpstreamTLS(context: context, host: upstream.host)
            } catch {
                errors.append(ConfigError(error.message, at: error.location ?? upstream.location))
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return tls
    }

    /// TLS 1.2 or later, ALPN `http/1.1` only (the gateway speaks nothing else to clients).
    private static func serverContext(_ settings: TLSSettings) throws(ConfigError) -> NIOSSLContext {
        let chain = try certificates(
            at: settings.certificatePath, location: settings.certificateLocation, key: "server.tls.certificate"
        )
        let keyName = "server.tls.private_key"
        let keyBytes = try read(settings.privateKeyPath, location: settings.privateKeyLocation, key: keyName)
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw ConfigError(
                "\(keyName): '\(settings.privateKeyPath)' is not an unencrypted PEM private key",
                at: settings.privateKeyLocation
            )
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL refuses a key whose public half is not the leaf certificate's.
            throw ConfigError(
                "\(keyName): the key in '\(settings.privateKeyPath)' does not match the certificate in '\(settings.certificatePath)'",
                at: settings.privateKeyLocation
            )
        } catch {
            throw ConfigError(
                "server.tls.certificate: cannot use '\(settings.certificatePath)': \(error)", at: settings.certificateLocation
            )
        }
    }

    /// Full verification: the chain up to `roots`, and the upstream's host name or IP address.
    private static func clientContext(trusting roots: NIOSSLTrustRoots) throws(ConfigError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = roots
        configuration.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError("cannot set up the TLS client: \(error)", at: nil)
        }
    }

    /// The system trust store, read into memory now: BoringSSL would otherwise look up CA
    /// files in /etc/ssl/certs during a handshake, which is blocking I/O on an event loop.
    private static func systemTrustRoots() throws(ConfigError) -> NIOSSLTrustRoots {
        #if os(Linux)
        for bundle in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"] {
            guard case .success(let bytes) = ConfigFile.read(bundle) else { continue }
            if let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty {
                return .certificates(certificates)
            }
        }
        #endif
        return .default
    }

    /// One or more PEM certificates, in file order.
    private static func certificates(
        at path: String, location: SourceLocation?, key: String
    ) throws(ConfigError) -> [NIOSSLCertificate] {
        let bytes = try read(path, location: location, key: key)
        let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes)
        guard let certificates, !certificates.isEmpty else {
            throw ConfigError("\(key): '\(path)' holds no valid PEM certificate", at: location)
        }
        return certificates
    }

    private static func read(_ path: String, location: SourceLocation?, key: String) throws(ConfigError) -> [UInt8] {
        switch ConfigFile.read(path) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw ConfigError("\(key): cannot read '\(path)': \(failure.reason)", at: location)
        }
    }
}

/// How the gateway speaks TLS to one https upstream.
struct UpstreamTLS: Sendable {
    let context: NIOSSLContext
    /// Sent as SNI and checked against the certificate's DNS names; `nil` when the url's host
    /// is an IP address, which SNI may not carry: the certificate must then list that address.
    let serverHostname: String?

    init(context: NIOSSLContext, host: String) {
        self.context = context
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        self.serverHostname = isAddress ? nil : host
    }
}
