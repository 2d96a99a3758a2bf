internal import CZlib
internal import Glibc

/// A gzip stream written by zlib's gz* API onto a file descriptor; the class
/// owns the `gzFile` and closes it in `deinit` if ``finish()`` was not reached (STYLE habit 3).
final class GzipWriter {
    private var file: gzFile?
    private let path: String

    /// Takes ownership of `fd` (closed by ``finish()`` or `deinit`, also on failure here).
    init(fd: Int32, path: String, level: Int32 = 6) throws(SystemError) {
        self.path = path
        guard let file = gzdopen(fd, "wb\(level)") else {
            let code = errno
            Glibc.close(fd)
            throw SystemError("gzdopen", path, code == 0 ? ENOMEM : code)
        }
        self.file = file
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard !bytes.isEmpty else { return }
        guard let file else { throw SystemError("gzwrite", path, EBADF) }
        let written = gzwrite(file, bytes.baseAddress, UInt32(bytes.count))
        guard written == Int32(bytes.count) else { throw failure("gzwrite", file) }
    }

    /// Flushes the stream and closes the file; the gzip trailer is written here.
    func finish() throws(SystemError) {
        guard let file else { return }
        self.file = nil
        let status = gzclose(file)
        guard status == Z_OK else { throw SystemError("gzclose", path, status == Z_ERRNO ? errno : EIO) }
    }

    private func failure(_ call: String, _ file: gzFile) -> SystemError {
        var number: Int32 = 0
        _ = gzerror(file, &number)
        return SystemError(call, path, number == Z_ERRNO ? errno : EIO)
    }

    deinit {
        if let file { _ = gzclose(file) }
    }
}

enum Gzip {
    /// Compresses `source` into `destination` (a gzip file with mode 0600 and the source's
    /// modification time), going through `temporary` so that `destination` is whole or absent,
    /// then removes `source`. Memory use is one 64 KiB buffer, whatever the file's size.
    static func compress(_ source: String, to destination: String, through temporary: String) throws(SystemError) {
        let input = try System.open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        defer { Glibc.close(input) }
        let times = try System.fstat(input, source)
        do throws(SystemError) {
            try System.unlink(temporary)
            let output = try System.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            // A second descriptor outlives gzclose, for fsync and the times.
            let kept = dup(output)
            guard kept >= 0 else {
                let error = SystemError("dup", temporary)
                Glibc.close(output)
                throw error
            }
            defer { Glibc.close(kept) }
            let writer = try GzipWriter(fd: output, path: temporary)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try System.read(input, into: buffer, source)
                if count == 0 { break }
                try writer.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
            try writer.finish()
            try System.fsync(kept, temporary)
            try System.setTimes(kept, accessed: times.accessed, modified: times.modified, temporary)
            try System.rename(temporary, destination)
        } catch {
            try? System.unlink(temporary)
            throw error
        }
        try System.unlink(source)
    }

    /// The uncompressed contents of a gzip file (for checks and tests); throws if it is corrupt or cut short.
    static func decompress(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try System.open(path, O_RDONLY | O_CLOEXEC)
        guard let file = gzdopen(fd, "rb") else {
            Glibc.close(fd)
            throw SystemError("gzdopen", path, ENOMEM)
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var failed = false
        while true {
            let count = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if count < 0 { failed = true }
            if count <= 0 { break }
            output += buffer[..<Int(count)]
        }
        // gzclose reports a stream that ended early (Z_BUF_ERROR) or a bad trailer.
        let status = gzclose(file)
        guard !failed, status == Z_OK else { throw SystemError("gzread", path, EIO) }
        return output
    }
}
