/// Starts libFuzzer from a target's own entry point.
///
/// SwiftPM links every Swift executable with `main` renamed to `<Module>_main` (so tests can
/// link executables), which hides the `main` libFuzzer brings: each target defines
/// `<Module>_main` and calls `run`, which hands the command line to libFuzzer's driver.
package enum FuzzDriver {
    package typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

    package static func run(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ body: TestOneInput
    ) -> CInt {
        var argc = argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        return LLVMFuzzerRunDriver(&argc, &argv, body)
    }
}

/// libFuzzer's entry for programs with their own `main` (compiler-rt, LLVM 11 and later).
@_extern(c, "LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: FuzzDriver.TestOneInput
) -> CInt
