// iec-sdk-examples: the SDK's examples in Swift, one for each C example in
// examples/*/ (same steps, same output lines), on the async `IECClient` API.
//
//     swift build --product iec-sdk-examples
//     cd examples/simpleclient && "$(swift build --show-bin-path)/iec-sdk-examples" simpleclient
//
// Usage: iec-sdk-examples EXAMPLE [ARGS ...]; run it where iec-sdk.db is.
import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let example = Examples.all[name] else {
    let names = Examples.all.keys.sorted().joined(separator: " ")
    let usage = Array("usage: iec-sdk-examples EXAMPLE [ARGS ...]\nexamples: \(names)\n".utf8)
    _ = usage.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}
exit(await example(Array(arguments.dropFirst())))
