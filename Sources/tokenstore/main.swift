print("tokenstore: under construction")
