@testable import TokenStore

/// The engine's logged `Operation`, under a name Foundation's `Operation` does not shadow.
typealias LoggedOperation = Operation
