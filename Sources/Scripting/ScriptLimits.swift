/// How much one script run may take. Every run gets all of it afresh.
public struct ScriptLimits: Sendable, Hashable {
    /// Wall-clock time for the whole run: setting the inputs, the prelude, the
    /// script, and reading the outputs (`toJSON` methods and getters run then).
    /// Checked every 256 Ki bytecode instructions, during RegExp matching,
    /// allocation and string comparison; a run that passes it fails with
    /// ``ScriptError/Kind/timeout``, which the script cannot catch, within
    /// ~20 ms. Wall-clock time: on an overloaded machine a script gets less
    /// CPU in it. Host functions are not interrupted. Default 250 ms.
    public var timeout: Duration
    /// Bytes the script's heap may allocate, Duktape's own structures (about
    /// 200 KiB for an empty heap) included. Default 16 MiB.
    public var memoryBytes: Int
    /// Longest `source` accepted, in UTF-8 bytes (the prelude is the host's and
    /// is not limited). Default 256 KiB.
    public var maxSourceBytes: Int
    /// Longest JSON text of all outputs together, and of one host function's
    /// arguments or result, in UTF-8 bytes. Default 1 MiB.
    public var maxOutputBytes: Int

    public init(
        timeout: Duration = .milliseconds(250),
        memoryBytes: Int = 16 << 20,
        maxSourceBytes: Int = 256 << 10,
        maxOutputBytes: Int = 1 << 20
    ) {
        self.timeout = timeout
        self.memoryBytes = memoryBytes
        self.maxSourceBytes = maxSourceBytes
        self.maxOutputBytes = maxOutputBytes
    }
}
