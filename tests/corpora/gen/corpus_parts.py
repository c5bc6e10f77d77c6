def parts_messages():
    pass
