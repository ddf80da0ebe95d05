#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: the operation, the file it concerned, and `errno`.
///
/// Internal: the public API converts it to `TokenStoreError` (`noSpace` for `ENOSPC`,
/// `io` otherwise), keeping the file name and the call in the detail.
struct SystemError: Error, CustomStringConvertible {
    let errno: Int32
    let operation: StaticString
    let file: String

    var description: String {
        "\(operation) \(file): \(String(cString: strerror(errno)))"
    }

    var storeError: TokenStoreError {
        switch errno {
        case ENOSPC, EDQUOT: return TokenStoreError(.noSpace, description)
        case EWOULDBLOCK: return TokenStoreError(.locked, "\(file) is held by another process")
        default: return TokenStoreError(.io, description)
        }
    }
}

/// The calling thread's `errno`, for files that do not import Glibc.
@inline(__always) func lastErrno() -> Int32 { errno }

extension TokenStoreError {
    /// Converts any internal failure into the public error type.
    init(converting error: any Error) {
        switch error {
        case let e as TokenStoreError: self = e
        case let e as SystemError: self = e.storeError
        default: self = TokenStoreError(.io, String(describing: error))
        }
    }
}
