import json
print(json.dumps({'setup': [], 'notes': [], 'tests': {}}))
