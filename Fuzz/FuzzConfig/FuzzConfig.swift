import Foundation
import Portcullis
import PortcullisFuzzSupport

/// YAML text through `ConfigLoader.parse` and, when it is valid, `GatewayRuntime.build` (keys,
/// TLS files, upstream references), as `portcullis check` does. It must never crash or hang,
/// and every error must carry `fuzz.yaml:LINE:COLUMN` (SPEC §2).
///
/// Relative paths in the input resolve against `Fuzz/ConfigFiles`, which holds the key and
/// certificate files the seed configs name, so valid configs reach the key parsers.
private let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("ConfigFiles").path
private let environment = ["JWT_SECRET": "fuzz-hmac-secret-0123456789abcdef0123456789", "PORT": "8080", "EMPTY": ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // `ConfigLoader.load` refuses a file that is not UTF-8 before parsing; so does this.
    guard let yaml = String(validating: [UInt8](fuzzInput: data, count: size), as: UTF8.self) else { return 0 }
    do throws(ConfigErrors) {
        let config = try ConfigLoader.parse(yaml: yaml, file: "fuzz.yaml", directory: directory, environment: environment)
        _ = try GatewayRuntime.build(config)
    } catch {
        precondition(!error.errors.isEmpty, "a config was refused without an error")
        for problem in error.errors {
            guard let location = problem.location else { preconditionFailure("an error without a position: \(problem)") }
            precondition(location.file == "fuzz.yaml" && location.line >= 1 && location.column >= 1, "a bad position: \(problem)")
        }
    }
    return 0
}

/// The program's entry point (see `FuzzDriver`).
@_cdecl("FuzzConfig_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
}
