internal import Glibc

/// A failed system call: which call, on what, and `errno`.
struct SystemError: Error, Sendable {
    let call: String
    let path: String
    let code: Int32

    init(_ call: String, _ path: String, _ code: Int32 = errno) {
        self.call = call
        self.path = path
        self.code = code
    }

    /// `strerror` text, e.g. "No space left on device".
    var reason: String { String(cString: strerror(code)) }
    var description: String { "\(call) \(path): \(reason)" }
}

/// Every system call of the module goes through here: EINTR retried, errno thrown (STYLE: swift-nio's System.swift).
enum System {
    static let fileFlags: Int32 = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY

    struct Status {
        var isRegular: Bool
        var isDirectory: Bool
        var size: Int
        var links: Int
        var device: UInt
        var inode: UInt
        var modified: timespec
        var accessed: timespec

        init(_ raw: stat) {
            isRegular = raw.st_mode & S_IFMT == S_IFREG
            isDirectory = raw.st_mode & S_IFMT == S_IFDIR
            size = Int(raw.st_size)
            links = Int(raw.st_nlink)
            device = UInt(raw.st_dev)
            inode = UInt(raw.st_ino)
            modified = raw.st_mtim
            accessed = raw.st_atim
        }

        func isSameFile(as other: Status) -> Bool { device == other.device && inode == other.inode }
    }

    static func retrying(_ body: () -> Int32) -> Int32 {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        let fd = retrying { Glibc.open(path, flags, mode) }
        guard fd >= 0 else { throw SystemError("open", path) }
        return fd
    }

    /// Opens the log file for appending, creating it with mode 0600 (exactly: the umask is not asked).
    /// An existing file keeps its mode.
    static func openForAppending(_ path: String) throws(SystemError) -> (fd: Int32, status: Status) {
        var fd: Int32 = -1
        var created = false
        // Create it, or open the one that exists; another process may create or rotate it away in between, so try again.
        for _ in 0..<16 {
            fd = retrying { Glibc.open(path, fileFlags | O_CREAT | O_EXCL, 0o600) }
            if fd >= 0 {
                created = true
                break
            }
            guard errno == EEXIST else { break }
            fd = retrying { Glibc.open(path, fileFlags) }
            if fd >= 0 || errno != ENOENT { break }
        }
        guard fd >= 0 else { throw SystemError("open", path) }
        do throws(SystemError) {
            if created { try fchmod(fd, 0o600, path) }
            let status = try fstat(fd, path)
            return (fd, status)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    static func fchmod(_ fd: Int32, _ mode: mode_t, _ path: String) throws(SystemError) {
        guard retrying({ Glibc.fchmod(fd, mode) }) == 0 else { throw SystemError("fchmod", path) }
    }

    static func fstat(_ fd: Int32, _ path: String) throws(SystemError) -> Status {
        var raw = Glibc.stat()
        guard retrying({ Glibc.fstat(fd, &raw) }) == 0 else { throw SystemError("fstat", path) }
        return Status(raw)
    }

    /// `lstat`; nil when the path does not exist.
    static func linkStatus(_ path: String) throws(SystemError) -> Status? {
        var raw = Glibc.stat()
        guard retrying({ Glibc.lstat(path, &raw) }) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemError("lstat", path)
        }
        return Status(raw)
    }

    /// `stat` (following links); nil when the path does not exist.
    static func status(_ path: String) throws(SystemError) -> Status? {
        var raw = Glibc.stat()
        guard retrying({ stat(path, &raw) }) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemError("stat", path)
        }
        return Status(raw)
    }

    /// `mkdir -p` with mode 0700 for the folders it makes; existing folders are left as they are.
    static func makeFolders(_ path: String) throws(SystemError) {
        if path.isEmpty || path == "/" { return }
        if let status = try status(path) {
            guard status.isDirectory else { throw SystemError("mkdir", path, ENOTDIR) }
            return
        }
        try makeFolders(parent(of: path))
        guard retrying({ Glibc.mkdir(path, 0o700) }) == 0 else {
            if errno == EEXIST, let status = try status(path), status.isDirectory { return }
            throw SystemError("mkdir", path)
        }
    }

    /// Writes all of `bytes` with as few write(2) calls as the kernel allows (one for a regular file).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            if written == 0 { throw SystemError("write", path, EIO) }
            offset += written
        }
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, _ path: String) throws(SystemError) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw SystemError("read", path) }
        }
    }

    static func rename(_ from: String, _ to: String) throws(SystemError) {
        guard retrying({ Glibc.rename(from, to) }) == 0 else { throw SystemError("rename", from) }
    }

    /// Removes a file; one that is already gone is fine.
    static func unlink(_ path: String) throws(SystemError) {
        guard retrying({ Glibc.unlink(path) }) == 0 || errno == ENOENT else { throw SystemError("unlink", path) }
    }

    static func fsync(_ fd: Int32, _ path: String) throws(SystemError) {
        guard retrying({ Glibc.fsync(fd) }) == 0 else { throw SystemError("fsync", path) }
    }

    static func lock(_ fd: Int32, _ operation: Int32) {
        _ = retrying { flock(fd, operation) }
    }

    static func setTimes(_ fd: Int32, accessed: timespec, modified: timespec, _ path: String) throws(SystemError) {
        let times = [accessed, modified]
        guard retrying({ futimens(fd, times) }) == 0 else { throw SystemError("futimens", path) }
    }

    /// The names in a folder, "." and ".." left out.
    static func listFolder(_ path: String) throws(SystemError) -> [String] {
        guard let folder = opendir(path) else { throw SystemError("opendir", path) }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func currentFolder() -> String? {
        guard let pointer = getcwd(nil, 0) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    static func wallClock() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
