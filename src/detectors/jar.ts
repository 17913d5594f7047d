// PLACEHOLDER: being written by a helper; replaced wholesale. Claims nothing, so the registry never runs it.
import type { Detector } from './types.js';

export const jarDetector: Detector = {
  format: 'jar',
  description: 'placeholder',
  claims: {},
  detect: () => [],
};
