print("hello from gk-test/python-app")
