print("come")
