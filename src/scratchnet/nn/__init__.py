"""scratchnet.nn"""
