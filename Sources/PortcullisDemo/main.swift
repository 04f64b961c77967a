// Replaced by the demo upstream.
print("portcullis-demo")
