// leadrouter-bench: being written.
print("leadrouter-bench: not yet implemented")
