import assert from 'node:assert/strict';
import { openModel } from '../../src/core/model';
import { aboutFile, withFileLabel } from '../../src/extension/fileMessages';

describe('notification text names the file once', () => {
  it('a located model error already starts with the file: it is kept as it is', () => {
    let message = '';
    try {
      openModel('models/broken.json', new TextEncoder().encode('{"class_name": "Functional", "config": {"layers": [,]}}'));
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /^models\/broken\.json:1:\d+/);
    const text = aboutFile('models/broken.json', message);
    assert.equal(text, message);
    assert.equal(text.split('broken.json').length - 1, 1, text);
  });

  it('a message that does not name the file gets it in front, once', () => {
    assert.equal(aboutFile('m.json', 'the model has no outputs'), 'm.json: the model has no outputs');
    assert.equal(aboutFile('m.json', 'm.json.bak: other file'), 'm.json: m.json.bak: other file');
  });

  it("the trainer's absolute path becomes the workspace label", () => {
    assert.equal(withFileLabel('/tmp/ws/models/m.json:3:1: bad; see /tmp/ws/models/m.json', '/tmp/ws/models/m.json', 'models/m.json'), 'models/m.json:3:1: bad; see models/m.json');
    assert.equal(withFileLabel('no path here', '/tmp/ws/m.json', 'm.json'), 'no path here');
  });
});
