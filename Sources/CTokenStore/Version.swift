import TokenStore
