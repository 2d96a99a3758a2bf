internal import Glibc

/// File access for commands, through one funnel so that errors read the same
/// everywhere and secret files are always written the same careful way.
public enum Files {
    /// Most we read from any input file: keys, JWKS and tokens are small.
    public static let maxInputBytes = 1 << 20

    public static func read(_ path: String, limit: Int = maxInputBytes) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CommandFailure("cannot read \(path): \(errorText())") }
        defer { close(descriptor) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandFailure("cannot read \(path): \(errorText())")
            }
            if count == 0 { return output }
            output.append(contentsOf: buffer[..<count])
            guard output.count <= limit else { throw CommandFailure("\(path) is larger than \(limit) bytes") }
        }
    }

    public static func readText(_ path: String) throws -> String {
        let bytes = try read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CommandFailure("\(path) is not UTF-8 text") }
        return text
    }

    /// Writes `contents` to `path` with mode 0600, atomically (a temporary file
    /// in the same folder, fsync, rename), so that a crash leaves either the old
    /// file or the whole new one. Refuses to replace an existing file unless `replace`.
    public static func writeSecret(_ contents: [UInt8], to path: String, replace: Bool = false) throws {
        if !replace, access(path, F_OK) == 0 { throw CommandFailure("\(path) exists; refusing to overwrite it") }
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CommandFailure("cannot create \(temporary): \(errorText())") }
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let message = errorText()
                close(descriptor)
                unlink(temporary)
                throw CommandFailure("cannot write \(temporary): \(message)")
            }
            written += count
        }
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            let message = errorText()
            unlink(temporary)
            throw CommandFailure("cannot write \(temporary): \(message)")
        }
        guard rename(temporary, path) == 0 else {
            let message = errorText()
            unlink(temporary)
            throw CommandFailure("cannot create \(path): \(message)")
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
